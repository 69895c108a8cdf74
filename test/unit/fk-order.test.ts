import { describe, expect, it } from 'vitest';
import type { FkEdge } from '../../src/engine/pg/catalog.js';
import { fkLoadOrder } from '../../src/engine/pg/fk-order.js';

const t = (oid: number) => ({ oid, name: `t${oid}` });
const fk = (child: number, parent: number, deferrable = false): FkEdge => ({ child, parent, deferrable, name: `fk_${child}_${parent}` });

describe('foreign-key load order', () => {
  it('puts parents before children, keeping input order for ties', () => {
    const groups = fkLoadOrder([t(1), t(2), t(3), t(4)], [fk(1, 2), fk(2, 3), fk(4, 3)]);
    expect(groups.map((g) => g.tables.map((x) => x.oid))).toEqual([[3], [2], [1], [4]]);
    expect(groups.every((g) => !g.cyclic)).toBe(true);
  });

  it('marks a self-reference cyclic but keeps the table alone', () => {
    const [group] = fkLoadOrder([t(1)], [fk(1, 1, false)]);
    expect(group).toEqual({ tables: [t(1)], cyclic: true, deferrable: false });
  });

  it('groups a two-table cycle, reporting whether every constraint in it is deferrable', () => {
    const deferrable = fkLoadOrder([t(1), t(2), t(3)], [fk(1, 2, true), fk(2, 1, true), fk(3, 1)]);
    expect(deferrable.map((g) => g.tables.map((x) => x.oid))).toEqual([[1, 2], [3]]);
    expect(deferrable[0]).toMatchObject({ cyclic: true, deferrable: true });
    expect(fkLoadOrder([t(1), t(2)], [fk(1, 2, true), fk(2, 1, false)])[0]?.deferrable).toBe(false);
  });

  it('ignores edges to tables outside the set and handles long chains without recursion', () => {
    const tables = Array.from({ length: 20_000 }, (_, i) => t(i + 1));
    const edges = tables.slice(1).map((x) => fk(x.oid, x.oid - 1));
    const groups = fkLoadOrder(tables, [...edges, fk(1, 99_999)]);
    expect(groups).toHaveLength(20_000);
    expect(groups[0]?.tables[0]?.oid).toBe(1);
    expect(groups.at(-1)?.tables[0]?.oid).toBe(20_000);
  });
});
