import { z } from 'zod';
import { backupTarget, type BackupResult } from '../backup/backup.js';
import { openBackup, verifyBackupFiles, type BackupHandle } from '../backups/open-backup.js';
import { chooseBackup } from '../backups/scan-backups.js';
import { describeConnection } from '../connection.js';
import type { EngineContext } from '../context.js';
import { DbopsError, toDbopsError } from '../errors.js';
import { parseInput } from '../input.js';
import { backupsRoot } from '../paths.js';
import { lockForRestore } from '../pg/advisory-lock.js';
import { withClient } from '../pg/client.js';
import { resolveTarget, type ResolvedTarget } from '../targets.js';
import { applyBackup, type RestoreStep } from './apply-backup.js';
import { HISTORY_SCHEMA, restoreHistory, setHistoryAside } from './keep-history.js';
import { loadTableData, planTableData } from './restore-table-data.js';
import { captureShape, dropAddedSince, dropRestoredEntries, type DatabaseShape } from './database-shape.js';
import type { EntryPlan } from './plan-entries.js';
import { prepareRestore } from './prepare-restore.js';
import { verifyRestore, type Verification } from './verify-restore.js';

export const restoreOptionsSchema = z.strictObject({
  backup: z.string().optional().describe('Backup folder path, or "latest" (default): the newest complete backup'),
  from: z.string().optional().describe('With "latest": the newest backup taken from this target'),
  target: z.string().optional().describe('Configured target to restore into (default: dev)'),
  url: z.string().optional().describe('Connection URL to restore into instead of a configured target'),
  yes: z.boolean().default(false).describe('Do not ask for confirmation'),
  confirm: z.string().optional().describe('Name of the target database; required for protected targets'),
  jobs: z.number().int().min(1).max(64).optional().describe('Parallel pg_restore jobs'),
  safetyBackup: z.boolean().default(true).describe('Back up the target first (label pre-restore) and roll back to it on failure'),
  dataOnly: z.boolean().default(false).describe('Restore only the data of --tables into the existing schema'),
  tables: z.array(z.string()).optional().describe('schema.table names for a data-only restore'),
  verify: z.enum(['counts', 'content']).default('counts').describe('counts: row counts; content: also per-table content hashes'),
});

export type RestoreOptions = z.input<typeof restoreOptionsSchema>;

export interface RestorePlan {
  target: { name: string; host: string; port: number; database: string; protected: boolean };
  backup: {
    dir: string;
    folder: string;
    layout: BackupHandle['layout'];
    createdAt: string;
    ageMs: number;
    source: string;
    mode: string | null;
    included: string[];
    excluded: string[];
    bytes: number | null;
  };
  dataOnly: string[] | null;
  /** What happens to the dump's objects (dbops backups): restored, left as the target's own, skipped. */
  objects: {
    restored: number;
    keptAsTarget: number;
    skipped: number;
    platformTablesLoaded: string[];
    platformTablesKept: string[];
    notes: string[];
  } | null;
  warnings: string[];
  skipped: Array<{ folder: string; reason: string }>;
}

export type RestoreProgress =
  | { phase: 'plan'; plan: RestorePlan }
  | { phase: 'safety-backup' }
  | { phase: 'step'; step: RestoreStep | 'data-only' | 'history' }
  | { phase: 'rollback'; snapshotDir: string }
  | { phase: 'verify' };

export interface RestoreResult {
  plan: RestorePlan;
  safetyBackupDir: string | null;
  createdRoles: string[];
  historyRowsKept: number;
  notes: string[];
  verification: Verification;
  restoredAt: string;
  durationMs: number;
}

export interface RestoreHooks {
  onProgress?: (p: RestoreProgress) => void;
  /** Asks a person to confirm; absent when nobody can be asked (then --yes is required). */
  ask?: (plan: RestorePlan) => Promise<boolean>;
}

export async function restoreDatabase(input: RestoreOptions, ctx: EngineContext, hooks: RestoreHooks = {}): Promise<RestoreResult> {
  const options = parseInput('restore-db', restoreOptionsSchema, input);
  const started = Date.now();
  const progress = hooks.onProgress ?? (() => undefined);
  if (options.dataOnly !== (options.tables !== undefined && options.tables.length > 0)) {
    throw new DbopsError('USAGE', 'restore-db: --data-only and --tables go together (--data-only --tables schema.table,…).');
  }
  const target = resolveTarget(ctx.config, options, ctx.env, 'dev');

  // Nothing is touched before the backup has passed every check.
  const chosen = await chooseBackup(options.backup, { root: backupsRoot(ctx.root, ctx.config.backup.dir, ctx.env), cwd: ctx.root, fromTarget: options.from });
  const { handle, skipped } = chosen;
  const fileCheck = chosen.check ?? (await verifyBackupFiles(handle));
  const tableData = options.dataOnly ? await planTableData(handle, target.spec, options.tables ?? [], ctx.signal) : undefined;
  // What happens to each object, and whether the target can take it at all: decided up front.
  const entries = options.dataOnly ? undefined : await prepareRestore(handle, target.spec, ctx.config.platform_roles, ctx.signal, [HISTORY_SCHEMA]);
  const plan = describePlan(handle, target, options.tables ?? null, fileCheck.warnings, skipped, ctx, entries);
  progress({ phase: 'plan', plan });
  await confirmRestore(plan, target, options, hooks.ask);

  const lock = await lockForRestore(target.spec);
  try {
    let snapshot: BackupResult | undefined;
    let shape: DatabaseShape | undefined;
    if (options.safetyBackup) {
      progress({ phase: 'safety-backup' });
      snapshot = await backupTarget(target, { prod: false, exclude: [], label: 'pre-restore', contentHashes: true, plan: false }, ctx);
    }
    // dbops's own history is moved out of the way first (a data-only restore drops nothing);
    // the shape of the target is read after that, so a rollback never takes it for an addition.
    const history = tableData === undefined ? await withClient(target.spec, setHistoryAside) : undefined;
    if (snapshot !== undefined) shape = await withClient(target.spec, captureShape);
    const jobs = options.jobs ?? ctx.config.backup.jobs;
    let createdRoles: string[] = [];
    const notes: string[] = [];
    try {
      if (tableData !== undefined) {
        progress({ phase: 'step', step: 'data-only' });
        await loadTableData(handle, target.spec, tableData, ctx.signal);
      } else {
        const applied = await applyBackup({ handle, target: target.spec, jobs, plan: entries, signal: ctx.signal, onStep: (step) => progress({ phase: 'step', step }) });
        createdRoles = applied.createdRoles;
        notes.push(...applied.notes);
      }
    } catch (error) {
      const undone = await undoRestore(error, { handle, entries, snapshot, shape }, target, jobs, ctx.config.platform_roles, progress);
      await withClient(target.spec, (c) => restoreHistory(c, history)).catch(() => undefined);
      throw undone;
    }
    progress({ phase: 'step', step: 'history' });
    const historyRowsKept = await withClient(target.spec, (c) => restoreHistory(c, history));
    progress({ phase: 'verify' });
    const verification = await verifyRestore(handle, target.spec, { content: options.verify === 'content', keptByTarget: entries === undefined ? [] : keptByTarget(entries) });
    if (options.dataOnly) narrowTo(verification, options.tables ?? []);
    if (options.verify === 'content' && !verification.contentChecked) notes.push('This backup recorded no content hashes (take it with --content-hashes); only row counts were compared.');
    return {
      plan,
      safetyBackupDir: snapshot?.backupDir ?? null,
      createdRoles,
      historyRowsKept,
      notes,
      verification,
      restoredAt: new Date().toISOString(),
      durationMs: Date.now() - started,
    };
  } finally {
    await lock.release();
  }
}

function describePlan(handle: BackupHandle, target: ResolvedTarget, tables: string[] | null, warnings: string[], skipped: RestorePlan['skipped'], ctx: EngineContext, entries: EntryPlan | undefined): RestorePlan {
  const m = handle.manifest;
  const now = (ctx.now ?? (() => new Date()))();
  return {
    target: { name: target.name, ...describeConnection(target.spec), protected: target.protected },
    backup: {
      dir: handle.dir,
      folder: handle.folder,
      layout: handle.layout,
      createdAt: handle.createdAt.toISOString(),
      ageMs: now.getTime() - handle.createdAt.getTime(),
      source: m ? `${m.target} (${m.source.host}:${m.source.port}/${m.source.database})` : (handle.target ?? 'unknown (old layout)'),
      mode: m?.mode ?? null,
      included: m?.categories.included ?? [],
      excluded: m?.categories.excluded.map((e) => `${e.name} (${e.mode === 'schema' ? 'schema left out' : 'empty tables'})`) ?? [],
      bytes: m?.sizes.backupBytes ?? null,
    },
    dataOnly: tables,
    objects: entries === undefined ? null : summariseEntries(entries),
    warnings,
    skipped,
  };
}

function summariseEntries(plan: EntryPlan): NonNullable<RestorePlan['objects']> {
  const count = (action: string) => plan.entries.filter((e) => e.action === action).length;
  return {
    restored: count('restore'),
    keptAsTarget: count('keep'),
    skipped: count('skip'),
    platformTablesLoaded: plan.platformData.map((t) => `${t.schema}.${t.table}`),
    platformTablesKept: plan.keptTables.map((t) => `${t.schema}.${t.table}`),
    notes: plan.notes,
  };
}

async function confirmRestore(plan: RestorePlan, target: ResolvedTarget, options: z.output<typeof restoreOptionsSchema>, ask: RestoreHooks['ask']): Promise<void> {
  if (target.protected && options.confirm !== target.spec.database) {
    throw new DbopsError(
      'CONFIRM_MISMATCH',
      options.confirm === undefined
        ? `Target "${target.name}" is protected: pass --confirm ${target.spec.database} to restore into it.`
        : `--confirm "${options.confirm}" does not match the target database "${target.spec.database}".`,
    );
  }
  if (options.yes) return;
  if (ask === undefined) {
    throw new DbopsError('CONFIRMATION_REQUIRED', `Restoring ${plan.backup.folder} overwrites database "${plan.target.database}" on ${plan.target.host}; no terminal to ask, so --yes is required.`);
  }
  if (!(await ask(plan))) throw new DbopsError('CANCELLED', 'Restore cancelled; nothing was changed.');
}

/** A failed restore puts the target back from the safety snapshot; the error says which happened. */
async function undoRestore(
  cause: unknown,
  state: { handle: BackupHandle; entries: EntryPlan | undefined; snapshot: BackupResult | undefined; shape: DatabaseShape | undefined },
  target: ResolvedTarget,
  jobs: number,
  platformRoles: readonly string[],
  progress: (p: RestoreProgress) => void,
): Promise<DbopsError> {
  const error = toDbopsError(cause);
  const { snapshot, shape } = state;
  const keep = { hint: error.hint, details: [...error.details] };
  if (snapshot === undefined || shape === undefined) {
    return new DbopsError(error.code, `${error.message} No safety snapshot was taken (--no-safety-backup): the target may be partly restored.`, { ...keep, cause });
  }
  progress({ phase: 'rollback', snapshotDir: snapshot.backupDir });
  try {
    // No abort signal here: an interrupted restore must still finish putting the target back.
    // First remove everything the failed restore may have created (its own objects, by the dump's
    // own DROP statements; what the target also had comes back from the snapshot just after).
    if (state.entries !== undefined) await dropRestoredEntries(state.handle, state.entries, target.spec);
    await withClient(target.spec, (client) => dropAddedSince(client, shape));
    const handle = await openBackup(snapshot.backupDir);
    const entries = await prepareRestore(handle, target.spec, platformRoles);
    await applyBackup({ handle, target: target.spec, jobs, plan: entries });
  } catch (rollbackError) {
    return new DbopsError('ROLLBACK_FAILED', `The restore failed (${error.message}) and putting the target back from ${snapshot.backupDir} failed too: ${toDbopsError(rollbackError).message}`, { ...keep, cause });
  }
  return new DbopsError('RESTORE_FAILED', `The restore failed (${error.message}); the target was put back from the pre-restore snapshot ${snapshot.folder}.`, { ...keep, cause });
}

/** Platform tables that keep the target's rows: their definitions were kept and their rows were not loaded. */
function keptByTarget(plan: EntryPlan): string[] {
  const loaded = new Set(plan.platformData.map((t) => `${t.schema}.${t.table}`));
  return plan.entries
    .filter((e) => e.action === 'keep' && e.toc.kind === 'TABLE' && e.object.table !== null)
    .map((e) => `${e.object.table!.schema}.${e.object.table!.table}`)
    .filter((key) => !loaded.has(key));
}

function narrowTo(verification: Verification, tables: readonly string[]): void {
  verification.tables = verification.tables.filter((t) => tables.includes(`${t.schema}.${t.table}`));
  verification.mismatches = verification.tables.filter((t) => !t.ok);
  verification.emptyTables = verification.emptyTables.filter((t) => tables.includes(t));
  verification.contentMismatches = verification.contentMismatches.filter((t) => tables.includes(t));
  verification.verified = verification.mismatches.length === 0 && verification.contentMismatches.length === 0;
}
