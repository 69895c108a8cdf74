import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { backupOptionsSchema, type BackupResult } from '../engine/backup/backup.js';
import type { EngineContext } from '../engine/context.js';
import type { ListedBackup } from '../engine/lifecycle/list-backups.js';
import { listOptionsSchema } from '../engine/lifecycle/list-backups.js';
import { pruneOptionsSchema, type PruneReport } from '../engine/lifecycle/prune-backups.js';
import { verifyOptionsSchema, type VerifyReport } from '../engine/lifecycle/verify-backup.js';
import { restoreOptionsSchema, type RestoreResult } from '../engine/restore/restore.js';
import { restoreVerified } from '../surface/restore-db.js';
import { historyOptionsSchema, type HistoryRun } from '../reporting/history.js';
import { agentInput, describedAs, name, NAME_MAX } from './limits.js';
import { checkRestoreAllowed, checkUrlAllowed, confineBackup } from './policy.js';

// The MCP tools, as data: each names the command it runs (through invoke(), like the CLI), its
// input schema (built from the command's own), its output schema, honest annotations, how
// agent arguments become the command's input under the agent policy, and what it returns.
// Names that come from the database travel only as structured fields and in the untrusted-data
// block (server.ts); summaries carry dbops's own words and counts. Every input is size-limited
// (limits.ts).

export interface ToolSpec {
  name: string;
  command: string;
  title: string;
  description: string;
  input: z.ZodObject;
  output: z.ZodObject;
  annotations: ToolAnnotations;
  prepare(args: any, ctx: EngineContext): Promise<unknown>;
  structured(result: any): Record<string, unknown>;
  summary(result: any): string;
}

// Annotations that tell the truth. openWorldHint false: tools reach only configured databases and the backups directory.
export const READ_ONLY: ToolAnnotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
/** Writes new backups and events, removes or overwrites nothing. */
const WRITES: ToolAnnotations = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false };
const DESTRUCTIVE: ToolAnnotations = { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false };

/** A connection URL: long enough for any real host, user and options. */
const URL_MAX = 2048;
/** A folder name in the backups directory (file systems stop at 255 bytes). */
const FOLDER_MAX = 255;

const sizes = z.object({ databaseBytes: z.number(), backupBytes: z.number(), dumpBytes: z.number() });
const tableCount = z.object({ schema: z.string(), table: z.string(), expected: z.number(), actual: z.number().nullable(), ok: z.boolean() });
const listedBackup = z.object({
  folder: z.string(), status: z.enum(['valid', 'incomplete', 'corrupt', 'legacy']), createdAt: z.string().nullable(), target: z.string().nullable(),
  label: z.string().nullable(), mode: z.string().nullable(), bytes: z.number(), problem: z.string().nullable(),
});

const backupTool: ToolSpec = {
  name: 'backup_db',
  command: 'backup-db',
  title: 'Back up a database',
  description: 'Back up a configured target into a timestamped, checksummed folder in the backups directory. Long-running: sends progress notifications when given a progress token.',
  input: agentInput({
    ...backupOptionsSchema.omit({ out: true, plan: true }).shape,
    target: name(describedAs(backupOptionsSchema, 'target')).optional(),
    // The engine's own label rule (1-40 of [A-Za-z0-9_-]), with its length visible in the JSON schema.
    label: (backupOptionsSchema.shape.label as z.ZodOptional<z.ZodString>).unwrap().max(40).optional().describe(describedAs(backupOptionsSchema, 'label')),
    url: z.string().max(URL_MAX).optional().describe(describedAs(backupOptionsSchema, 'url')),
    exclude: z.array(z.string().max(NAME_MAX)).max(20).default([]).describe(describedAs(backupOptionsSchema, 'exclude')),
  }),
  output: z.object({ backupDir: z.string(), folder: z.string(), target: z.string(), mode: z.string(), tables: z.number(), rows: z.number(), sizes, durationMs: z.number() }),
  annotations: WRITES,
  async prepare(args: z.infer<typeof backupOptionsSchema>, ctx) {
    checkUrlAllowed(args.url, ctx);
    return args;
  },
  structured: (r: BackupResult) => ({
    backupDir: r.backupDir, folder: r.folder, target: r.manifest.target, mode: r.manifest.mode, tables: r.tables, rows: r.rows,
    sizes: r.manifest.sizes, durationMs: r.manifest.durationsMs.total ?? 0,
  }),
  summary: (r: BackupResult) => `Backup complete: ${r.folder} (${r.tables} tables, ${r.rows} rows, ${r.manifest.sizes.backupBytes} bytes, mode ${r.manifest.mode}).`,
};

const restoreInput = agentInput({
  ...restoreOptionsSchema.pick({ jobs: true, dataOnly: true, verify: true }).shape,
  target: name(describedAs(restoreOptionsSchema, 'target')).optional(),
  url: z.string().max(URL_MAX).optional().describe(describedAs(restoreOptionsSchema, 'url')),
  from: name(describedAs(restoreOptionsSchema, 'from')).optional(),
  tables: z.array(z.string().min(1).max(2 * NAME_MAX + 5)).min(1).max(1000).optional().describe(describedAs(restoreOptionsSchema, 'tables')),
  backup: z.string().min(1).max(FOLDER_MAX).default('latest').describe('"latest", or the name of a folder in the backups directory'),
  confirm: name('The exact name of the target database: check the target and the backup with the user first'),
});

const restoreTool: ToolSpec = {
  name: 'restore_db',
  command: 'restore-db',
  title: 'Restore a backup into a database (overwrites data)',
  description: 'Restore a backup into a configured target, after checksums, with a safety snapshot and rollback, then verify row counts. DESTRUCTIVE: overwrites the target. Requires confirm = the target database name.',
  input: restoreInput,
  output: z.object({
    verified: z.boolean(), backupDir: z.string(), backupCreatedAt: z.string(),
    target: z.object({ name: z.string(), host: z.string(), port: z.number(), database: z.string() }),
    tables: z.array(tableCount), mismatches: z.array(z.string()), emptyTables: z.array(z.string()),
    safetyBackupDir: z.string().nullable(), restoredAt: z.string(),
  }),
  annotations: DESTRUCTIVE,
  async prepare(args: z.infer<typeof restoreInput>, ctx) {
    checkRestoreAllowed(args, args.confirm, ctx);
    return { ...args, backup: await confineBackup(args.backup, ctx), yes: true, safetyBackup: true };
  },
  structured: (r: RestoreResult) => ({
    verified: restoreVerified(r), backupDir: r.plan.backup.dir, backupCreatedAt: r.plan.backup.createdAt,
    target: { name: r.plan.target.name, host: r.plan.target.host, port: r.plan.target.port, database: r.plan.target.database },
    tables: r.verification.tables.map(({ schema, table, expected, actual, ok }) => ({ schema, table, expected, actual, ok })),
    mismatches: r.verification.mismatches.map((t) => `${t.schema}.${t.table}`), emptyTables: r.verification.emptyTables,
    safetyBackupDir: r.safetyBackupDir, restoredAt: r.restoredAt,
  }),
  summary: (r: RestoreResult) =>
    !r.verification.verified
      ? `Restore finished but verification FAILED: ${r.verification.tables.length - r.verification.mismatches.length}/${r.verification.tables.length} tables match; ${r.verification.mismatches.length} mismatches (see structured content).`
      : restoreVerified(r)
        ? `Restore verified: ${r.verification.tables.length}/${r.verification.tables.length} tables match.`
        : 'Restore complete, not verified: the backup recorded no row counts.',
};

const listTool: ToolSpec = {
  name: 'list_backups',
  command: 'list-backups',
  title: 'List backups',
  description: 'List the backups in the backups directory, newest first, with status valid, incomplete, corrupt or legacy.',
  input: agentInput({ target: name(describedAs(listOptionsSchema, 'target')).optional() }),
  output: z.object({ backups: z.array(listedBackup) }),
  annotations: READ_ONLY,
  prepare: async (args) => args,
  structured: (r: { backups: ListedBackup[] }) => ({ backups: r.backups.map(({ folder, status, createdAt, target, label, mode, bytes, problem }) => ({ folder, status, createdAt, target, label, mode, bytes, problem })) }),
  summary: (r: { backups: ListedBackup[] }) => `${r.backups.length} backup folders, ${r.backups.filter((b) => b.status === 'valid').length} valid.`,
};

const verifyInput = agentInput({ backup: z.string().min(1).max(FOLDER_MAX).optional().describe(describedAs(verifyOptionsSchema, 'backup')) });

const verifyTool: ToolSpec = {
  name: 'verify_backup',
  command: 'verify-backup',
  title: 'Verify a backup',
  description: 'Check a backup without touching any database: metadata, every sha256, the dump, the CSVs and their row counts. (Restore drills are CLI-only: dbops verify-backup --drill.)',
  input: verifyInput,
  output: z.object({ ok: z.boolean(), verified: z.boolean(), backupDir: z.string(), layout: z.string(), checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string() })) }),
  annotations: READ_ONLY,
  async prepare(args: z.infer<typeof verifyInput>, ctx) {
    return { backup: await confineBackup(args.backup ?? 'latest', ctx), drill: false };
  },
  structured: (r: VerifyReport) => ({ ok: r.ok, verified: r.verified, backupDir: r.backupDir, layout: r.layout, checks: r.checks }),
  summary: (r: VerifyReport) => `${r.verified ? 'Verified' : r.ok ? 'Checks passed, not verified (old layout, no checksums)' : 'FAILED'}: ${r.checks.filter((c) => c.ok).length}/${r.checks.length} checks passed.`,
};

const pruneTool: ToolSpec = {
  name: 'prune_backups',
  command: 'prune-backups',
  title: 'Prune old backups',
  description: 'Apply the retention policy to the backups directory. DESTRUCTIVE unless dryRun: deletes backup folders the policy does not keep.',
  input: agentInput({ ...pruneOptionsSchema.shape, target: name(describedAs(pruneOptionsSchema, 'target')).optional() }),
  output: z.object({ dryRun: z.boolean(), removed: z.array(z.string()), decisions: z.array(z.object({ folder: z.string(), action: z.enum(['keep', 'remove']), reason: z.string() })) }),
  annotations: { ...DESTRUCTIVE, idempotentHint: true },
  prepare: async (args) => args,
  structured: (r: PruneReport) => ({ dryRun: r.dryRun, removed: r.removed, decisions: r.decisions.map(({ folder, action, reason }) => ({ folder, action, reason })) }),
  summary: (r: PruneReport) => `${r.dryRun ? 'Would remove' : 'Removed'} ${r.decisions.filter((d) => d.action === 'remove').length} of ${r.decisions.length} folders.`,
};

const historyInput = agentInput({
  ...historyOptionsSchema.omit({ url: true }).shape,
  artifact: z.string().min(1).max(100).optional().describe(describedAs(historyOptionsSchema, 'artifact')),
  // "7d", "12h": a few digits are enough, and more would overflow the interval.
  since: z.string().max(6).regex(/^\d{1,5}[mhdw]$/, 'use a number and m, h, d or w, e.g. 7d').optional().describe(describedAs(historyOptionsSchema, 'since')),
  target: name(describedAs(historyOptionsSchema, 'target')).optional(),
});

const historyTool: ToolSpec = {
  name: 'artifact_history',
  command: 'history',
  title: 'Invocation history',
  description: 'Runs of dbops commands from code_ops.artifact_events, newest first: start, duration, trigger (cli, slash, mcp), outcome, key detail.',
  input: historyInput,
  output: z.object({ runs: z.array(z.object({
    runId: z.string(), command: z.string(), version: z.string().nullable(), startedAt: z.string(), durationMs: z.number().nullable(),
    status: z.string(), trigger: z.string().nullable(), target: z.string().nullable(), detail: z.string().nullable(),
  })) }),
  annotations: READ_ONLY,
  prepare: async (args) => args,
  structured: (runs: HistoryRun[]) => ({ runs }),
  summary: (runs: HistoryRun[]) => `${runs.length} runs.`,
};

export const TOOLS: readonly ToolSpec[] = [backupTool, restoreTool, listTool, verifyTool, pruneTool, historyTool];
