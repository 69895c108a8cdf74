import path from 'node:path';
import * as z from 'zod';
import { DbopsError } from '../engine/errors.js';
import { isRemoteUrl } from '../engine/options/remote-options.js';
import { restoreOptionsSchema } from '../engine/options/restore-options.js';
import type { RestorePlan } from '../engine/restore/restore.js';
import { agentInput, describedAs, FOLDER_MAX, name, NAME_MAX, URL_MAX } from '../mcp/limits.js';
import { checkRestoreAllowed, checkUrlAllowed, confineBackup } from '../mcp/policy.js';
import type { Command } from './command.js';
import { formatAge, formatBytes, formatDuration } from './format.js';
import { fetchedOutput, fetchedText, fetchWithProgress, type FetchedOutput } from './remote-copy.js';
import { verificationOutput, verificationShape } from './verification.js';

// restore-db: a backup (latest, a given folder, or a copy in a remote) into a database, safely,
// then verified. A remote copy is fetched into the backups directory first (decrypted, every
// chunk and sha256 checked, then the backup's own checks): a damaged copy fails there, before
// anything is restored, and the fetched folder is then restored like any other.

const planShape = z.object({
  target: z.object({ name: z.string(), host: z.string(), port: z.number(), database: z.string(), protected: z.boolean() }),
  backup: z.object({
    dir: z.string(),
    folder: z.string(),
    layout: z.string(),
    createdAt: z.string(),
    ageMs: z.number(),
    source: z.string(),
    mode: z.string().nullable(),
    included: z.array(z.string()),
    excluded: z.array(z.string()),
    bytes: z.number().nullable(),
  }),
  dataOnly: z.array(z.string()).nullable(),
  objects: z
    .object({
      restored: z.number(),
      keptAsTarget: z.number(),
      skipped: z.number(),
      platformTablesLoaded: z.array(z.string()),
      platformTablesKept: z.array(z.string()),
      notes: z.array(z.string()),
    })
    .nullable(),
  warnings: z.array(z.string()),
  skipped: z.array(z.object({ folder: z.string(), reason: z.string() })),
});

const restoreOutput = z.object({
  kind: z.literal('restore'),
  /** Verified means compared with something: a backup that recorded no row counts leaves nothing to compare. */
  verified: z.boolean(),
  backupDir: z.string(),
  target: z.object({ name: z.string(), host: z.string(), port: z.number(), database: z.string() }),
  plan: planShape,
  safetyBackupDir: z.string().nullable(),
  createdRoles: z.array(z.string()),
  changedRoles: z.array(z.string()),
  historyRowsKept: z.number(),
  notes: z.array(z.string()),
  verification: verificationOutput,
  restoredAt: z.string(),
  durationMs: z.number(),
  /** The remote copy the backup was fetched from; null for a local folder. */
  fetched: fetchedOutput.nullable(),
});

/** --dry-run: the plan, and nothing changed. */
const planOutput = z.object({
  kind: z.literal('plan'),
  backupDir: z.string(),
  target: restoreOutput.shape.target,
  plan: planShape,
});

const output = z.union([restoreOutput, planOutput]);
type Restored = z.output<typeof restoreOutput>;

/**
 * What agents get as outputSchema: MCP wants one object schema, so the two kinds in one object,
 * `kind` saying which, the fields only a restore has optional. Both members of `output` fit it.
 */
const mcpOutput = restoreOutput
  .partial()
  .extend({ kind: z.enum(['restore', 'plan']), backupDir: z.string(), target: restoreOutput.shape.target, plan: planShape });

export const restoreDb: Command<typeof restoreOptionsSchema, typeof output> = {
  name: 'restore-db',
  input: restoreOptionsSchema,
  output,
  cli: {
    positional: 'backup',
    examples: [
      'dbops restore-db --from prod --target dev --yes',
      'dbops restore-db storage/backups/20261123_070312_staging_nightly --target dev',
      'dbops restore-db latest --data-only --tables crawler.sites,crawler.pages --yes',
      'dbops restore-db --target prod --confirm app_prod',
      'dbops restore-db s3://acme-db-backups/dbops/prod/20261123_071502_prod --target dev --yes',
    ],
  },
  target: (input) => ({ target: input.target, url: input.url, fallback: 'dev' }),
  readOnlyFor: (input) => input.dryRun,
  async run(input, ctx, io) {
    let fetched: FetchedOutput | null = null;
    if (isRemoteUrl(input.backup)) {
      if (input.from !== undefined) throw new DbopsError('USAGE', 'restore-db: pass an s3:// copy or --from TARGET, not both.');
      // A mistyped target is found before the download, not after it.
      const { resolveTarget } = await import('../engine/targets.js');
      resolveTarget(ctx.config, input, ctx.env, 'dev');
      const copy = await fetchWithProgress(input.backup, undefined, ctx, io);
      fetched = copy;
      input = { ...input, backup: copy.dir };
    }
    const { planRestore, restoreDatabase } = await import('../engine/restore/restore.js');
    if (input.dryRun) {
      const plan = await planRestore(input, ctx);
      return {
        kind: 'plan',
        backupDir: plan.backup.dir,
        target: { name: plan.target.name, host: plan.target.host, port: plan.target.port, database: plan.target.database },
        plan,
      };
    }
    const ask = io.ask;
    const steps = ['roles', 'drop', 'schema', 'extensions', 'platform-data', 'schema-and-data', 'grants', 'realtime', 'reload'];
    const result = await restoreDatabase(input, ctx, {
      ask: ask === undefined ? undefined : (plan) => ask(`Restore into "${plan.target.database}"?`),
      onProgress: (p) => {
        if (p.phase === 'plan') io.notice?.(planText(p.plan));
        else if (p.phase === 'safety-backup') io.progress('taking the pre-restore safety snapshot of the target');
        else if (p.phase === 'step') {
          const at = steps.indexOf(p.step);
          io.progress(`restoring: ${p.step}`, at >= 0 ? { done: at, total: steps.length } : undefined);
        } else if (p.phase === 'rollback') io.progress(`restore failed: putting the target back from ${p.snapshotDir}`);
        else if (p.phase === 'recover')
          io.progress(`an earlier restore into this database was stopped part-way: putting the target back from ${p.snapshotDir} first`);
        else if (p.phase === 'waiting')
          io.progress(`waiting up to ${Math.round(p.timeoutMs / 1000)} s for sessions holding locks on the target: ${p.sessions.join('; ')}`);
        else if (p.phase === 'verify') io.progress('verifying row counts and content', { done: steps.length, total: steps.length });
      },
    });
    return {
      kind: 'restore',
      verified: result.verification.verified && result.verification.countsRecorded,
      backupDir: result.plan.backup.dir,
      target: { name: result.plan.target.name, host: result.plan.target.host, port: result.plan.target.port, database: result.plan.target.database },
      plan: result.plan,
      safetyBackupDir: result.safetyBackupDir,
      createdRoles: result.createdRoles,
      changedRoles: result.changedRoles,
      historyRowsKept: result.historyRowsKept,
      notes: result.notes,
      verification: verificationShape(result.verification),
      restoredAt: result.restoredAt,
      durationMs: result.durationMs,
      fetched,
    };
  },
  succeeded: (r) => r.kind === 'plan' || r.verification.verified,
  summary: (r) =>
    r.kind === 'plan'
      ? `Dry run, nothing changed: ${r.plan.backup.folder} into "${r.plan.target.database}"${r.plan.objects ? `: ${r.plan.objects.restored} objects restored, ${r.plan.objects.keptAsTarget} left as the target has them, ${r.plan.objects.skipped} skipped` : ''}.`
      : !r.verification.verified
        ? `Restore finished but verification FAILED: ${r.verification.tables.length - r.verification.mismatches.length}/${r.verification.tables.length} tables match; ${r.verification.mismatches.length} mismatches.`
        : r.verified
          ? `Restore verified: ${r.verification.tables.length}/${r.verification.tables.length} tables match.`
          : 'Restore complete, not verified: the backup recorded no row counts.',
  text: (r, cwd) =>
    r.kind === 'plan'
      ? `${planText(r.plan).replace(/^\u26a0\ufe0f {2}This restore OVERWRITES data\./, 'Dry run: this restore would overwrite data. Nothing was changed.')}`
      : restoreText(r, cwd),
  mcp: {
    tool: 'restore_db',
    title: 'Restore a backup into a database (overwrites data)',
    description:
      'Restore a backup into a configured target, after checksums, with a safety snapshot and rollback, then verify row counts. DESTRUCTIVE: overwrites the target. Requires confirm = the target database name. With dryRun: only the plan (the backup checked, what is restored, left as the target has it, skipped), nothing changed, no confirm needed — show it to the user before asking.',
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    input: agentInput({
      ...restoreOptionsSchema.pick({ jobs: true, dataOnly: true, verify: true, dryRun: true }).shape,
      target: name(describedAs(restoreOptionsSchema, 'target')).optional(),
      url: z.string().max(URL_MAX).optional().describe(describedAs(restoreOptionsSchema, 'url')),
      from: name(describedAs(restoreOptionsSchema, 'from')).optional(),
      tables: z
        .array(
          z
            .string()
            .min(1)
            .max(2 * NAME_MAX + 5),
        )
        .min(1)
        .max(1000)
        .optional()
        .describe(describedAs(restoreOptionsSchema, 'tables')),
      backup: z.string().min(1).max(FOLDER_MAX).default('latest').describe('"latest", or the name of a folder in the backups directory'),
      confirm: name('The exact name of the target database: check the target and the backup with the user first (not needed with dryRun)').optional(),
    }),
    output: mcpOutput,
    async prepare(args, ctx) {
      // confineBackup refuses s3:// copies: agents restore only folders in the backups directory.
      if (args.dryRun) {
        // A dry run changes nothing: the URL rule still holds, confirmation does not apply.
        checkUrlAllowed(args.url, ctx);
        return { ...args, backup: await confineBackup(args.backup, ctx) };
      }
      checkRestoreAllowed(args, args.confirm ?? '', ctx);
      return { ...args, backup: await confineBackup(args.backup, ctx), yes: true, safetyBackup: true };
    },
  },
};

function planText(plan: RestorePlan | z.output<typeof planShape>): string {
  const b = plan.backup;
  return [
    '⚠️  This restore OVERWRITES data.',
    `   Target:   ${plan.target.name} → database "${plan.target.database}" on ${plan.target.host}:${plan.target.port}${plan.target.protected ? ' (PROTECTED)' : ''}`,
    `   Backup:   ${b.folder} (${b.layout === 'dbops' ? 'dbops' : `old layout ${b.layout}`})`,
    `   Taken:    ${b.createdAt} (${formatAge(b.ageMs)}) from ${b.source}`,
    ...(b.mode ? [`   Mode:     ${b.mode}; included: ${b.included.join(', ')}${b.excluded.length ? `; excluded: ${b.excluded.join(', ')}` : ''}`] : []),
    ...(b.bytes !== null ? [`   Size:     ${formatBytes(b.bytes)}`] : []),
    ...(plan.objects
      ? [
          `   Objects:  ${plan.objects.restored} restored, ${plan.objects.keptAsTarget} left as the target has them (the platform's), ${plan.objects.skipped} skipped`,
          ...(plan.objects.platformTablesLoaded.length ? [`   Platform rows loaded into: ${plan.objects.platformTablesLoaded.join(', ')}`] : []),
        ]
      : []),
    ...(plan.dataOnly ? [`   Data only: ${plan.dataOnly.join(', ')} (truncated, then loaded)`] : []),
    ...plan.warnings.map((w) => `   ⚠️  ${w}`),
    ...plan.skipped.map((s) => `   skipped ${s.folder}: ${s.reason}`),
  ].join('\n');
}

function restoreText(r: Restored, cwd: string): string {
  const v = r.verification;
  const b = r.plan.backup;
  const shown = (dir: string) => (path.relative(cwd, dir).startsWith('..') ? dir : path.relative(cwd, dir));
  const key = v.tables.filter((t) => t.dataIncluded && t.expected > 0).slice(0, 8);
  const keyNames = new Set(key.map((t) => `${t.schema}.${t.table}`));
  return [
    !v.verified
      ? '❌ Restore finished but verification FAILED'
      : v.countsRecorded
        ? '✅ Restore complete and verified'
        : '⚠️  Restore complete, not verified: the backup recorded no row counts',
    '',
    `📁 Restored from: ${shown(b.dir)}`,
    ...(r.fetched ? [`☁️  Fetched from: ${fetchedText(r.fetched)}`] : []),
    `🎯 Into:          ${r.plan.target.name} (${r.plan.target.host}:${r.plan.target.port}/${r.plan.target.database})`,
    `📋 Backup:        ${b.createdAt} from ${b.source}; mode ${b.mode ?? 'old layout'}${b.excluded.length ? `; excluded: ${b.excluded.join(', ')}` : ''}`,
    ...(r.safetyBackupDir ? [`🛟 Safety snapshot: ${shown(r.safetyBackupDir)}`] : []),
    ...(r.createdRoles.length ? [`👤 Created roles (NOLOGIN, no other attribute): ${r.createdRoles.join(', ')}`] : []),
    ...(r.changedRoles.length ? [`👤 Changed roles: ${r.changedRoles.join('; ')}`] : []),
    ...(r.historyRowsKept ? [`🗂  Kept ${r.historyRowsKept} invocation history rows of the target`] : []),
    `🔍 Verification:  ${v.countsRecorded ? `${v.tables.length - v.mismatches.length}/${v.tables.length} tables match row_counts.json` : 'not verified: the backup recorded no row counts'}${v.contentChecked ? `; content hashes ${v.contentMismatches.length === 0 ? 'match' : `differ for ${v.contentMismatches.join(', ')}`}` : ''}`,
    ...key.map((t) => `   ${t.ok ? '✅' : '❌'} ${t.schema}.${t.table}: ${t.actual ?? 'missing'} rows${t.ok ? '' : ` (expected ${t.expected})`}`),
    ...v.tables
      .filter((t) => !t.ok && !keyNames.has(`${t.schema}.${t.table}`))
      .map((t) => `   ❌ ${t.schema}.${t.table}: ${t.actual ?? 'missing'} rows (expected ${t.expected})`),
    ...(v.emptyTables.length ? [`   ∅ ${v.emptyTables.length} tables have 0 rows: ${v.emptyTables.join(', ')}`] : []),
    ...r.notes.map((n) => `ℹ️  ${n}`),
    `🕒 Restored at:   ${r.restoredAt} (${formatDuration(r.durationMs)})`,
    '',
    'Next: restart API servers (PostgREST was told to reload its schema) and check the app.',
  ].join('\n');
}
