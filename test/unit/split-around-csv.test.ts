import { describe, expect, it } from 'vitest';
import type { ObjectEntry } from '../../src/engine/folder/manifest.js';
import { splitAroundCsvLoads } from '../../src/engine/restore/apply-backup.js';
import type { EntryPlan } from '../../src/engine/restore/plan-entries.js';
import type { TocEntry } from '../../src/engine/tools/dump-toc.js';

// Which entries pg_restore may run beside the CSV loads (before the CSV tables have rows), and
// which must wait for them. Getting it wrong either way is a broken restore: a key on a CSV
// table checked before its rows are in fails, and data left out of both runs is lost.

type Ref = { schema: string; table: string };
const csvTable: Ref = { schema: 'crawler', table: 'articles' };
const plain: Ref = { schema: 'public', table: 'accounts' };
const other: Ref = { schema: 'public', table: 'branches' };

function entry(id: number, kind: string, table: Ref | null, references: Ref | null = null): { toc: TocEntry; object: ObjectEntry } {
  const line = `${id}; 0 0 ${kind} - x postgres`;
  return {
    toc: { id, classId: 0, objectId: 0, kind, rest: '- x postgres', line },
    object: { id, kind, origin: 'app', owner: 'postgres', address: null, table, references, line },
  };
}

function split(entries: Array<{ toc: TocEntry; object: ObjectEntry }>) {
  const plan = { entries: entries.map((e) => ({ ...e, action: 'restore' as const })) } as unknown as EntryPlan;
  const result = splitAroundCsvLoads(
    entries.map((e) => e.toc),
    plan,
    [csvTable],
  );
  return { first: result.first.map((e) => e.id), rest: result.rest.map((e) => e.id), filled: result.filled };
}

describe('pg_restore runs around the CSV loads', () => {
  it("runs the dump's rows and the indexes and keys of other tables first, everything touching a CSV table after", () => {
    const { first, rest, filled } = split([
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
    expect(rest).toEqual([1, 8, 9, 10, 11]);
    expect(filled).toEqual([plain, other]);
  });

  it('keeps for the second run whatever it cannot tell is safe: unknown tables, other kinds, other data', () => {
    const { first, rest } = split([
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
    expect(rest).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('puts every entry in exactly one of the two runs', () => {
    const kinds = ['TABLE', 'TABLE DATA', 'INDEX', 'CONSTRAINT', 'FK CONSTRAINT', 'TRIGGER', 'POLICY', 'BLOBS', 'MATERIALIZED VIEW DATA', 'COMMENT'];
    const tables = [plain, other, csvTable, null];
    const entries = kinds.flatMap((kind, k) =>
      tables.flatMap((table, t) => tables.map((references, r) => entry(k * 100 + t * 10 + r, kind, table, references))),
    );
    const { first, rest } = split(entries);
    expect([...first, ...rest].sort((a, b) => a - b)).toEqual(entries.map((e) => e.toc.id).sort((a, b) => a - b));
    expect(first.filter((id) => rest.includes(id))).toEqual([]);
  });
});
