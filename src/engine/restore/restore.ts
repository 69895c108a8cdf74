import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { backupTarget, type BackupResult } from '../backup/backup.js';
import { verifyBackupFiles, type BackupHandle } from '../folder/open.js';
import { chooseBackup } from '../folder/scan.js';
import { DEFAULT_LOCK_TIMEOUT_MS } from '../connection-locks.js';
import { describeConnection, withApplicationName } from '../connection.js';
import type { EngineContext } from '../context.js';
import { cutShort, DbopsError } from '../errors.js';
import { parseInput } from '../input.js';
import { deflateChoice } from '../libdeflate.js';
import { backupsRoot } from '../folder/layout.js';
import { lockForRestore } from '../pg/advisory-lock.js';
import { withClient } from '../pg/client.js';
import { formatSession } from '../pg/lock-sessions.js';
import { waitForLockHolders, watchLocks, type LockWatch } from '../pg/lock-watch.js';
import { resolveTarget, type ResolvedTarget } from '../targets.js';
import type { RestoreStep } from './apply-backup.js';
import { captureShape } from './database-shape.js';
import { finishInterruptedRestore } from './finish-rollback.js';
import { HISTORY_SCHEMA, setHistoryAside } from './keep-history.js';
import type { EntryPlan } from './plan-entries.js';
import { prepareRestore } from './prepare-restore.js';
import { replaceTarget, rollbackMarker } from './replace-target.js';
import { planTableData, type TableDataPlan } from './restore-table-data.js';
import { RestoreVerifier, type Verification } from './verify-restore.js';

export { restoreOptionsSchema } from '../options/restore-options.js';
import { restoreOptionsSchema } from '../options/restore-options.js';

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
  | { phase: 'recover'; snapshotDir: string }
  | { phase: 'waiting'; sessions: string[]; timeoutMs: number }
  | { phase: 'verify' };

export interface RestoreResult {
  plan: RestorePlan;
  safetyBackupDir: string | null;
  createdRoles: string[];
  /** Roles the restore changed, each with what changed (only memberships among roles it created). */
  changedRoles: string[];
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

/**
 * The plan of a restore, and nothing else: the backup chosen and checked, the target read (never
 * written), what happens to each object, and whether the target can take it at all (TARGET_UNFIT
 * otherwise). What `restore-db --dry-run` and an agent's dry run show.
 */
export async function planRestore(input: RestoreOptions, ctx: EngineContext): Promise<RestorePlan> {
  return (await prepareRun(parseInput('restore-db', restoreOptionsSchema, input), ctx)).plan;
}

async function prepareRun(options: z.output<typeof restoreOptionsSchema>, ctx: EngineContext) {
  if (options.dataOnly !== (options.tables !== undefined && options.tables.length > 0)) {
    throw new DbopsError('USAGE', 'restore-db: --data-only and --tables go together (--data-only --tables schema.table,…).');
  }
  const target = resolveTarget(ctx.config, options, ctx.env, 'dev');
  // Nothing is touched before the backup has passed every check.
  const chosen = await chooseBackup(options.backup, { root: backupsRoot(ctx.root, ctx.config.backup.dir, ctx.env), cwd: ctx.root, fromTarget: options.from });
  const { handle, skipped } = chosen;
  // The files' checksums, and what happens to each object and whether the target can take it at
  // all (read-only: the dump's table of contents, the target's catalog), worked out side by side;
  // a backup that fails its checks is reported as that, whatever the plan found.
  const [checked, planned] = await Promise.allSettled([
    chosen.check ?? verifyBackupFiles(handle),
    options.dataOnly
      ? planTableData(handle, target.spec, options.tables ?? [], ctx.signal).then((tableData) => ({ tableData, entries: undefined }))
      : prepareRestore(handle, target.spec, ctx.config.platform_roles, ctx.signal, [HISTORY_SCHEMA]).then((entries) => ({ tableData: undefined, entries })),
  ]);
  if (checked.status === 'rejected') throw checked.reason;
  if (planned.status === 'rejected') throw planned.reason;
  const fileCheck = checked.value;
  const { tableData, entries } = planned.value;
  const plan = describePlan(handle, target, options.tables ?? null, fileCheck.warnings, skipped, ctx, entries);
  // What the verification compares with (row_counts.json, content_hashes.json), read and checked
  // now: a file that cannot be read must stop the restore before anything is touched.
  const verifier = await RestoreVerifier.open(handle, {
    content: options.verify === 'content',
    keptByTarget: entries === undefined ? [] : keptByTarget(entries),
  });
  return { target, handle, tableData, entries, plan, verifier };
}

export async function restoreDatabase(input: RestoreOptions, ctx: EngineContext, hooks: RestoreHooks = {}): Promise<RestoreResult> {
  const options = parseInput('restore-db', restoreOptionsSchema, input);
  deflateChoice(ctx.env);
  const started = Date.now();
  const progress = hooks.onProgress ?? (() => undefined);
  const { target, handle, tableData, entries, plan, verifier } = await prepareRun(options, ctx);
  progress({ phase: 'plan', plan });
  await confirmRestore(plan, target, options, hooks.ask);

  const lock = await lockForRestore(target.spec);
  // Every session of this run carries one application_name, so the lock watch can tell the
  // run's own waits from a wait on someone else's lock (lock-watch.ts).
  const application = `dbops restore ${randomBytes(4).toString('hex')}`;
  const run: ResolvedTarget = { ...target, spec: withApplicationName(target.spec, application) };
  const timeoutMs = target.spec.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const backupsDir = backupsRoot(ctx.root, ctx.config.backup.dir, ctx.env);
  const jobs = options.jobs ?? ctx.config.backup.jobs;
  const notes: string[] = [];
  let watch: LockWatch | undefined;
  try {
    watch = await watchLocks(target.spec, application, timeoutMs);
    // A restore into this target killed part-way is finished before anything else.
    const recovered = await finishInterruptedRestore(backupsDir, run.spec, jobs, ctx.config.platform_roles, (snapshotDir) =>
      progress({ phase: 'recover', snapshotDir }),
    );
    if (recovered !== undefined) notes.push(recovered.note);
    // Sessions holding locks on what will be replaced: waited for up to the limit, else named, and nothing changed.
    await withClient(run.spec, (client) =>
      waitForLockHolders(client, { schemas: schemasReplaced(handle, tableData), exceptApplication: application }, timeoutMs, (sessions) =>
        progress({ phase: 'waiting', sessions: sessions.map(formatSession), timeoutMs }),
      ),
    ).catch((error: unknown) => {
      throw watch!.explain(error);
    });
    let snapshot: BackupResult | undefined;
    if (options.safetyBackup) {
      progress({ phase: 'safety-backup' });
      snapshot = await backupTarget(run, { prod: false, exclude: [], label: 'pre-restore', contentHashes: true, plan: false }, ctx).catch((error: unknown) => {
        const e = watch!.explain(error, 'The pre-restore snapshot');
        throw e.code === 'RESTORE_BLOCKED' ? new DbopsError('RESTORE_BLOCKED', `${e.message} Nothing was changed.`, { cause: e, details: [...e.details] }) : e;
      });
    }
    // dbops's own history is moved out of the way first (a data-only restore drops nothing);
    // the shape of the target is read after that, so a rollback never takes it for an addition.
    const history = tableData === undefined ? await withClient(run.spec, setHistoryAside) : undefined;
    const shape = snapshot === undefined ? undefined : await withClient(run.spec, captureShape);
    const marker = snapshot === undefined || shape === undefined ? undefined : rollbackMarker(run, application, snapshot, handle, entries, shape, history);
    const applied = await replaceTarget({
      handle,
      tableData,
      entries,
      run,
      application,
      jobs,
      ctx,
      progress,
      watch,
      backupsDir,
      snapshot,
      shape,
      history,
      marker,
      onTableLoaded: (client, table) => verifier.checkLoaded(client, table),
      onTablesRestored: (tables, { stop, wrapUp }) => verifier.checkRestored(run.spec, tables, stop, wrapUp),
    });
    notes.push(...applied.notes);
    progress({ phase: 'verify' });
    const verification = await verifier.finish(run.spec);
    if (options.dataOnly) narrowTo(verification, options.tables ?? []);
    if (options.verify === 'content' && !verification.contentChecked)
      notes.push('This backup recorded no content hashes (take it with --content-hashes); only row counts were compared.');
    return {
      plan,
      safetyBackupDir: snapshot?.backupDir ?? null,
      createdRoles: applied.createdRoles,
      changedRoles: applied.changedRoles,
      historyRowsKept: applied.historyRowsKept,
      notes,
      verification,
      restoredAt: new Date().toISOString(),
      durationMs: Date.now() - started,
    };
  } finally {
    await watch?.stop();
    await lock.release();
  }
}

/** What the restore replaces: the backup's schemas (a data-only restore: its tables' schemas; an old layout: every schema). */
function schemasReplaced(handle: BackupHandle, tableData: TableDataPlan | undefined): string[] | undefined {
  if (tableData !== undefined) return [...new Set(tableData.ordered.map((t) => t.schema))];
  return handle.manifest?.schemas;
}

function describePlan(
  handle: BackupHandle,
  target: ResolvedTarget,
  tables: string[] | null,
  warnings: string[],
  skipped: RestorePlan['skipped'],
  ctx: EngineContext,
  entries: EntryPlan | undefined,
): RestorePlan {
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

async function confirmRestore(
  plan: RestorePlan,
  target: ResolvedTarget,
  options: z.output<typeof restoreOptionsSchema>,
  ask: RestoreHooks['ask'],
): Promise<void> {
  if (target.protected && options.confirm !== target.spec.database) {
    throw new DbopsError(
      'CONFIRM_MISMATCH',
      options.confirm === undefined
        ? `Target "${target.name}" is protected: pass --confirm ${target.spec.database} to restore into it.`
        : `--confirm "${cutShort(options.confirm, 63)}" does not match the target database "${target.spec.database}".`,
    );
  }
  if (options.yes) return;
  if (ask === undefined) {
    throw new DbopsError(
      'CONFIRMATION_REQUIRED',
      `Restoring ${plan.backup.folder} overwrites database "${plan.target.database}" on ${plan.target.host}; no terminal to ask, so --yes is required.`,
    );
  }
  if (!(await ask(plan))) throw new DbopsError('CANCELLED', 'Restore cancelled; nothing was changed.');
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
