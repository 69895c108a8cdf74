import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { restoreDb } from '../../src/commands/restore-db.js';

// What a person (text) and a script (--json) are told after a restore: "verified" only when
// something was compared.

function result(countsRecorded: boolean): Extract<z.output<typeof restoreDb.output>, { kind: 'restore' }> {
  // Asserted, not annotated: the plan grows fields this summary does not read.
  return {
    kind: 'restore' as const,
    verified: countsRecorded,
    backupDir: '/b/prod_2025-02-03T04-05-06',
    target: { name: 'dev', host: '127.0.0.1', port: 5432, database: 'app_dev' },
    plan: {
      target: { name: 'dev', host: '127.0.0.1', port: 5432, database: 'app_dev', protected: false },
      backup: {
        dir: '/b/prod_2025-02-03T04-05-06',
        folder: 'prod_2025-02-03T04-05-06',
        layout: 'legacy-prod-sql',
        createdAt: '2025-02-03T04:05:06.000Z',
        ageMs: 1,
        source: 'prod',
        mode: null,
        included: [],
        excluded: [],
        bytes: null,
      },
      dataOnly: null,
      objects: null,
      warnings: [],
      skipped: [],
    },
    safetyBackupDir: null,
    createdRoles: [],
    changedRoles: [],
    historyRowsKept: 0,
    notes: [],
    verification: {
      verified: true,
      countsRecorded,
      tables: countsRecorded ? [{ schema: 'public', table: 'agents', expected: 3, actual: 3, dataIncluded: true, ok: true }] : [],
      mismatches: [],
      emptyTables: [],
      contentChecked: false,
      contentMismatches: [],
    },
    restoredAt: '2026-11-29T00:00:00.000Z',
    durationMs: 10,
    fetched: null,
  };
}

describe('restore summary', () => {
  it('says "not verified" when the backup recorded no row counts, in text, JSON and the event', () => {
    const r = result(false);
    const text = restoreDb.text(r, '/');
    expect(text.split('\n')[0]).toBe('⚠️  Restore complete, not verified: the backup recorded no row counts');
    expect(text).not.toMatch(/verified(?!:)/);
    expect(text).toContain('🔍 Verification:  not verified: the backup recorded no row counts');
    expect(restoreDb.succeeded(r)).toBe(true);
    expect(r.verified).toBe(false);
    expect(restoreDb.summary(r)).toBe('Restore complete, not verified: the backup recorded no row counts.');
  });

  it('says "verified" when the counts were compared and match', () => {
    const r = result(true);
    expect(restoreDb.text(r, '/').split('\n')[0]).toBe('✅ Restore complete and verified');
    expect(restoreDb.summary(r)).toBe('Restore verified: 1/1 tables match.');
  });
});
