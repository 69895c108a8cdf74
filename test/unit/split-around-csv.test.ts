import { describe, expect, it } from 'vitest';
import type { ObjectEntry } from '../../src/engine/folder/manifest.js';
import { splitAroundCsvLoads } from '../../src/engine/restore/apply-backup.js';
import type { EntryPlan } from '../../src/engine/restore/plan-entries.js';
import type { TocEntry } from '../../src/engine/tools/dump-toc.js';

// Which entries pg_restore may run beside the CSV loads (before the CSV tables have rows), which
// once the CSVs are in (beside the rest of that run), and which must wait for both. Getting it
// wrong is a broken restore: a key on a CSV table checked before its rows are in fails, a key
// that reads a table still loading sees part of it, data left out of every run is lost.

type Ref = { schema: string; table: string };
const csvTable: Ref = { schema: 'crawler', table: 'articles' };
const plain: Ref = { schema: 'public', table: 'accounts' };
const other: Ref = { schema: 'public', table: 'branches' };
const csvToo: Ref = { schema: 'prediction', table: 'signals' };
const csvParent: Ref = { schema: 'crawler', table: 'pages' };

function entry(id: number, kind: string, table: Ref | null, references: Ref | null = null): { toc: TocEntry; object: ObjectEntry } {
  const line = `${id}; 0 0 ${kind} - x postgres`;
  return {
    toc: { id, classId: 0, objectId: 0, kind, rest: '- x postgres', line },
    object: { id, kind, origin: 'app', owner: 'postgres', address: null, table, references, line },
  };
}

function split(entries: Array<{ toc: TocEntry; object: ObjectEntry }>, csvTables: Ref[] = [csvTable], parents: Ref[] = []) {
  const plan = { entries: entries.map((e) => ({ ...e, action: 'restore' as const })) } as unknown as EntryPlan;
  const result = splitAroundCsvLoads(
    entries.map((e) => e.toc),
    plan,
    csvTables,
    parents,
  );
  const ids = (list: TocEntry[]) => list.map((e) => e.id);
  return { first: ids(result.first), afterCsv: ids(result.afterCsv), rest: ids(result.rest), filled: result.filled };
}

describe('pg_restore runs around the CSV loads', () => {
  it("runs the dump's rows and the indexes and keys of other tables first, a CSV table's own builds once the CSVs are in, what joins the two after", () => {
    const { first, afterCsv, rest, filled } = split([
      entry(1, 'TABLE', plain),
      entry(2, 'TABLE DATA', plain),
      entry(3, 'TABLE DATA', other),
      entry(4, 'SEQUENCE SET', null),
      entry(5, 'CONSTRAINT', plain),
      entry(6, 'INDEX', other),
      entry(7, 'FK CONSTRAINT', plain, other),
      entry(8, 'CONSTRAINT', csvTable),
      entry(9, 'INDEX', csvTable),
      entry(10, 'FK CONSTRAINT', plain, csvTable),
      entry(11, 'FK CONSTRAINT', csvTable, plain),
    ]);
    expect(first).toEqual([2, 3, 4, 5, 6, 7]);
    expect(afterCsv).toEqual([8, 9]);
    expect(rest).toEqual([1, 10, 11]);
    expect(filled).toEqual([plain, other]);
  });

  it('runs keys between CSV tables once the CSVs are in; a parent of a CSV table waits for everything', () => {
    const { first, afterCsv, rest } = split(
      [
        entry(1, 'CONSTRAINT', csvTable),
        entry(2, 'CONSTRAINT', csvToo),
        entry(3, 'FK CONSTRAINT', csvToo, csvTable),
        entry(4, 'INDEX', csvToo),
        // The parent's key reads its children, some of which pg_restore's run may still be loading.
        entry(5, 'CONSTRAINT', csvParent),
        entry(6, 'FK CONSTRAINT', csvToo, csvParent),
        entry(7, 'FK CONSTRAINT', csvParent, csvTable),
        // A CSV table that is also a parent (of another CSV table) counts as a parent.
        entry(8, 'INDEX', csvToo),
        entry(9, 'TRIGGER', csvTable),
      ],
      [csvTable, csvToo],
      [csvParent],
    );
    expect(first).toEqual([]);
    expect(afterCsv).toEqual([1, 2, 3, 4, 8]);
    expect(rest).toEqual([5, 6, 7, 9]);
    const asParent = split([entry(1, 'INDEX', csvToo), entry(2, 'INDEX', csvTable)], [csvTable, csvToo], [csvToo]);
    expect(asParent.afterCsv).toEqual([2]);
    expect(asParent.rest).toEqual([1]);
  });

  it('keeps for the last run whatever it cannot tell is safe: unknown tables, other kinds, other data', () => {
    const { first, afterCsv, rest } = split([
      // An old backup's objects.json may name no table.
      entry(1, 'INDEX', null),
      entry(2, 'CONSTRAINT', null),
      // A foreign key whose referenced table is not recorded.
      entry(3, 'FK CONSTRAINT', plain, null),
      // A materialized view's refresh may read a CSV table.
      entry(4, 'MATERIALIZED VIEW DATA', null),
      entry(5, 'COMMENT', plain),
      entry(6, 'STATISTICS', plain),
      entry(7, 'CHECK CONSTRAINT', plain),
      entry(8, 'PUBLICATION TABLE', plain),
      // A data kind this version does not name still loads, in the second run.
      entry(9, 'SOME FUTURE DATA', plain),
    ]);
    expect(first).toEqual([]);
    expect(afterCsv).toEqual([]);
    expect(rest).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('puts every entry in exactly one of the three runs', () => {
    const kinds = ['TABLE', 'TABLE DATA', 'INDEX', 'CONSTRAINT', 'FK CONSTRAINT', 'TRIGGER', 'POLICY', 'BLOBS', 'MATERIALIZED VIEW DATA', 'COMMENT'];
    const tables = [plain, other, csvTable, csvToo, csvParent, null];
    const entries = kinds.flatMap((kind, k) =>
      tables.flatMap((table, t) => tables.map((references, r) => entry(k * 100 + t * 10 + r, kind, table, references))),
    );
    const { first, afterCsv, rest } = split(entries, [csvTable, csvToo], [csvParent]);
    const all = [...first, ...afterCsv, ...rest];
    expect([...all].sort((a, b) => a - b)).toEqual(entries.map((e) => e.toc.id).sort((a, b) => a - b));
    expect(new Set(all).size).toBe(all.length);
  });
});
