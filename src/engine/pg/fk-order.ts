import type { FkEdge } from './catalog.js';

// Load order from the catalog's foreign keys: parents before children. Tables that reference
// each other in a cycle form one group that must be loaded in one step (one transaction with
// deferred constraints, or with the constraints dropped and re-added).

export interface FkGroup<T> {
  tables: T[];
  /** More than one table, or a table referencing itself. */
  cyclic: boolean;
  /** Every FK inside the group is deferrable, so SET CONSTRAINTS ALL DEFERRED covers it. */
  deferrable: boolean;
}

/**
 * Orders `tables` (identified by oid) so that each table comes after every table it
 * references. Edges to tables outside the set are ignored. Uses Tarjan's strongly connected
 * components, which yields components in reverse topological order of the "references" edges;
 * ties keep the input order, so the result is stable.
 */
export function fkLoadOrder<T extends { oid: number }>(tables: readonly T[], edges: readonly FkEdge[]): FkGroup<T>[] {
  const byOid = new Map(tables.map((t) => [t.oid, t] as const));
  const refs = new Map<number, number[]>(tables.map((t) => [t.oid, []]));
  for (const edge of edges) {
    if (byOid.has(edge.child) && byOid.has(edge.parent)) refs.get(edge.child)?.push(edge.parent);
  }

  const index = new Map<number, number>();
  const low = new Map<number, number>();
  const onStack = new Set<number>();
  const stack: number[] = [];
  const components: number[][] = [];
  let counter = 0;

  // Iterative Tarjan: recursion would overflow on long FK chains.
  for (const root of tables) {
    if (index.has(root.oid)) continue;
    const work: Array<{ node: number; next: number }> = [{ node: root.oid, next: 0 }];
    index.set(root.oid, counter);
    low.set(root.oid, counter++);
    stack.push(root.oid);
    onStack.add(root.oid);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const targets = refs.get(frame.node)!;
      if (frame.next < targets.length) {
        const target = targets[frame.next++]!;
        if (!index.has(target)) {
          index.set(target, counter);
          low.set(target, counter++);
          stack.push(target);
          onStack.add(target);
          work.push({ node: target, next: 0 });
        } else if (onStack.has(target)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(target)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: number[] = [];
        let member: number;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        components.push(component);
      }
    }
  }

  const position = new Map(tables.map((t, i) => [t.oid, i] as const));
  const componentOf = new Map<number, number>();
  for (const [i, component] of components.entries()) for (const oid of component) componentOf.set(oid, i);
  const cyclic = new Set<number>();
  const notDeferrable = new Set<number>();
  for (const edge of edges) {
    const c = componentOf.get(edge.child);
    if (c === undefined || c !== componentOf.get(edge.parent)) continue;
    cyclic.add(c);
    if (!edge.deferrable) notDeferrable.add(c);
  }
  return components.map((component, i) => {
    component.sort((a, b) => position.get(a)! - position.get(b)!);
    return { tables: component.map((oid) => byOid.get(oid)!), cyclic: cyclic.has(i), deferrable: !notDeferrable.has(i) };
  });
}
