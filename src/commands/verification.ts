import * as z from 'zod';
import type { Verification } from '../engine/restore/verify-restore.js';

// How a restore (or a drill) proved itself, as restore-db and verify-backup both report it.

export const verificationOutput = z.object({
  verified: z.boolean(),
  countsRecorded: z.boolean(),
  contentChecked: z.boolean(),
  tables: z.array(
    z.object({
      schema: z.string(),
      table: z.string(),
      expected: z.number(),
      actual: z.number().nullable(),
      dataIncluded: z.boolean(),
      ok: z.boolean(),
      keptByTarget: z.boolean().optional(),
      contentOk: z.boolean().optional(),
    }),
  ),
  mismatches: z.array(z.string()),
  emptyTables: z.array(z.string()),
  contentMismatches: z.array(z.string()),
});

export function verificationShape(v: Verification): z.output<typeof verificationOutput> {
  return {
    verified: v.verified,
    countsRecorded: v.countsRecorded,
    contentChecked: v.contentChecked,
    tables: v.tables.map((t) => ({
      schema: t.schema,
      table: t.table,
      expected: t.expected,
      actual: t.actual,
      dataIncluded: t.dataIncluded,
      ok: t.ok,
      ...(t.keptByTarget ? { keptByTarget: true } : {}),
      ...(t.contentOk === undefined ? {} : { contentOk: t.contentOk }),
    })),
    mismatches: v.mismatches.map((t) => `${t.schema}.${t.table}`),
    emptyTables: v.emptyTables,
    contentMismatches: v.contentMismatches,
  };
}
