import path from 'node:path';
import * as z from 'zod';
import type { EngineContext } from '../engine/context.js';
import { DbopsError, toDbopsError } from '../engine/errors.js';
import { backupOptionsSchema } from '../engine/options/backup-options.js';
import { remoteReference } from '../engine/options/remote-options.js';
import type { Command, CommandIO } from './command.js';
import { formatBytes, formatDuration } from './format.js';
import { agentInput, describedAs, name, NAME_MAX, remoteName, URL_MAX } from '../mcp/limits.js';
import { checkRemoteAllowed, checkUrlAllowed } from '../mcp/policy.js';
import { pushedLine, pushedOutput, pushedShape, pushWithProgress, type PushedOutput } from './remote-copy.js';

// backup-db: a timestamped, checksummed backup folder of a database; --plan says what one would
// hold; --push then copies it, encrypted, to a remote (push-backup's engine call: the backup
// itself knows nothing of S3).

const input = backupOptionsSchema.extend({
  push: z.boolean().default(false).describe('Then push the finished backup to a remote, encrypted (see --remote; push-backup retries a failed push)'),
  remote: remoteReference.optional().describe('With --push: remote name from dbops.config.yaml, or s3://bucket/prefix (default: the only configured remote)'),
});

const tableRef = z.object({ schema: z.string(), table: z.string() });

export const backupOutput = z.object({
  kind: z.literal('backup'),
  backupDir: z.string(),
  folder: z.string(),
  target: z.string(),
  source: z.object({ host: z.string(), port: z.number(), database: z.string() }),
  serverVersion: z.string(),
  mode: z.enum(['full', 'prod', 'custom']),
  createdAt: z.string(),
  categories: z.object({ included: z.array(z.string()), excluded: z.array(z.object({ name: z.string(), mode: z.enum(['schema', 'data']) })) }),
  /** Every table whose rows were left out (partitions included), with the category that left it out. */
  excludedDataTables: z.array(tableRef.extend({ category: z.string().optional() })),
  /** Schemas left out whole (the platform's managed schemas, --no-<category> of a schema category). */
  excludedSchemas: z.array(z.string()),
  tables: z.number(),
  rows: z.number(),
  criticalTables: z.number(),
  sizes: z.object({ databaseBytes: z.number(), backupBytes: z.number(), dumpBytes: z.number() }),
  durationsMs: z.record(z.string(), z.number()),
  /** Every file of the folder, relative to it. */
  files: z.array(z.string()),
  /** With --push: the copy in the remote; null without. */
  pushed: pushedOutput.nullable(),
});

export const planOutput = z.object({
  kind: z.literal('plan'),
  target: z.string(),
  source: z.string(),
  mode: z.enum(['full', 'prod', 'custom']),
  included: z.array(z.string()),
  excluded: z.array(z.object({ name: z.string(), mode: z.enum(['schema', 'data']) })),
  excludedSchemas: z.array(z.string()),
  tables: z.array(
    tableRef.extend({
      kind: z.enum(['table', 'partitioned']),
      category: z.string().nullable(),
      rowsKept: z.boolean(),
      reason: z.string().nullable(),
    }),
  ),
});

const output = z.union([backupOutput, planOutput]);
type Output = z.output<typeof output>;

/** --no-<category> for every category that can be left out (--no-org-data → org_data). */
export function categoryFlags(config: {
  categories: Record<string, { exclude: string; description: string }>;
}): Array<{ flag: string; category: string; description: string }> {
  return Object.entries(config.categories)
    .filter(([, c]) => c.exclude !== 'never')
    .map(([category, c]) => ({
      flag: `--no-${category.replace(/_/g, '-')}`,
      category,
      description: `Leave out ${c.exclude === 'schema' ? 'the schema of' : 'the rows of'} ${category}${c.description ? `: ${c.description}` : ''}`,
    }));
}

export const backupDb: Command<typeof input, typeof output> = {
  name: 'backup-db',
  input,
  output,
  cli: {
    hidden: ['exclude'],
    dynamicFlags: (config) =>
      categoryFlags(config).map(({ flag, category, description }) => ({
        flag,
        description,
        apply: (input) => {
          input.exclude = [...((input.exclude as string[] | undefined) ?? []), category];
        },
      })),
    examples: [
      'dbops backup-db --target staging',
      'dbops backup-db --target prod --prod --label pre-upgrade',
      'dbops backup-db --prod --plan',
      'dbops backup-db --url-env DATABASE_URL --no-transient --json',
      'dbops backup-db --target prod --prod --push --remote offsite',
    ],
  },
  target: (input) => ({ target: input.target, url: input.url }),
  async run({ push, remote, ...options }, ctx, io) {
    if (remote !== undefined && !push)
      throw new DbopsError('USAGE', 'backup-db: --remote says where --push sends the backup; add --push, or leave --remote out.');
    if (options.plan) {
      if (push) throw new DbopsError('USAGE', 'backup-db: --plan writes nothing, so there is nothing to --push.');
      const { planBackup } = await import('../engine/backup/plan-backup.js');
      return { kind: 'plan', ...(await planBackup(options, ctx)) };
    }
    if (push) {
      // An unknown remote or a missing key is found now, not after the backup has run.
      const { checkRemoteSetup } = await import('../engine/remote/remote-session.js');
      checkRemoteSetup(remote, ctx);
    }
    const { backupDatabase } = await import('../engine/backup/backup.js');
    let tables = 0;
    let dumped = 0;
    let written = 0;
    const result = await backupDatabase(options, ctx, (p) => {
      if (p.phase === 'connect') io.progress(`connecting to ${p.target}`);
      else if (p.phase === 'snapshot') {
        tables = p.tables;
        io.progress(`snapshot ${p.snapshot}: ${p.tables} tables`, { done: 0, total: tables });
      } else if (p.phase === 'dump-table') io.progress(`dumping ${p.table}`, { done: Math.min(++dumped, tables), total: tables, bytes: written });
      else if (p.phase === 'written') {
        written = p.bytes;
        io.progress(`${formatBytes(written)} of table data written`, { done: Math.min(dumped, tables), total: tables, bytes: written, update: true });
      } else if (p.phase === 'csv') io.progress(`exporting ${p.table} as CSV`);
      else if (p.phase === 'files') io.progress('writing schema, grants, roles, realtime and extension files');
      else if (p.phase === 'checksums') io.progress('computing checksums', { done: tables, total: tables });
    });
    const m = result.manifest;
    return {
      kind: 'backup',
      backupDir: result.backupDir,
      folder: result.folder,
      target: m.target,
      source: { host: m.source.host, port: m.source.port, database: m.source.database },
      serverVersion: m.server.version.split(' ')[1] ?? String(m.server.versionNum),
      mode: m.mode,
      createdAt: m.createdAt,
      categories: m.categories,
      excludedDataTables: m.excludedDataTables,
      excludedSchemas: m.excludedSchemas,
      tables: result.tables,
      rows: result.rows,
      criticalTables: m.criticalTables.length,
      sizes: m.sizes,
      durationsMs: m.durationsMs,
      files: Object.keys(m.files).sort(),
      pushed: push ? await pushAfterBackup(result.backupDir, remote, ctx, io) : null,
    };
  },
  succeeded: () => true,
  summary: (r) =>
    r.kind === 'plan'
      ? `Plan (nothing written): ${r.tables.length} tables, rows left out of ${r.tables.filter((t) => !t.rowsKept).length}.`
      : `Backup complete: ${r.folder} (${r.tables} tables, ${r.rows} rows, ${r.sizes.backupBytes} bytes, mode ${r.mode})${r.pushed ? `; pushed to ${r.pushed.url} (${r.pushed.uploaded} files uploaded, ${r.pushed.alreadyThere} already there)` : ''}.`,
  text: (r, cwd) => (r.kind === 'plan' ? planText(r) : backupText(r, cwd)),
  mcp: {
    tool: 'backup_db',
    title: 'Back up a database',
    description:
      'Back up a configured target into a timestamped, checksummed folder in the backups directory; with push, then copy it encrypted to a configured remote. Long-running: sends progress notifications (progress/total) when given a progress token.',
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    input: agentInput({
      ...input.omit({ out: true, plan: true }).shape,
      target: name(describedAs(backupOptionsSchema, 'target')).optional(),
      // The engine's own label rule (1-40 of [A-Za-z0-9_-]), with its length visible in the JSON schema.
      label: (backupOptionsSchema.shape.label as z.ZodOptional<z.ZodString>).unwrap().max(40).optional().describe(describedAs(backupOptionsSchema, 'label')),
      url: z.string().max(URL_MAX).optional().describe(describedAs(backupOptionsSchema, 'url')),
      exclude: z.array(z.string().max(NAME_MAX)).max(20).default([]).describe(describedAs(backupOptionsSchema, 'exclude')),
      remote: remoteName('With push: a remote named in dbops.config.yaml (default: the only configured one)').optional(),
    }),
    output: backupOutput,
    async prepare(args, ctx) {
      checkUrlAllowed(args.url, ctx);
      checkRemoteAllowed(args.remote, ctx);
      return args;
    },
  },
};

function backupText(r: z.output<typeof backupOutput>, cwd: string): string {
  const has = (file: string) => (r.files.includes(file) ? '✅' : '—');
  const shown = path.relative(cwd, r.backupDir).startsWith('..') ? r.backupDir : path.relative(cwd, r.backupDir);
  const excluded = r.categories.excluded.map((e) => `${e.name} (${e.mode === 'schema' ? 'schema left out' : 'rows left out'})`);
  return [
    '✅ Backup complete',
    '',
    `📁 Location:  ${shown}`,
    `🎯 Source:    ${r.target} (${r.source.host}:${r.source.port}/${r.source.database}), PostgreSQL ${r.serverVersion}`,
    '📦 Contents:',
    `   ${has('dump/toc.dat')} full dump (dump/, directory format, pg_restore -j ready) — ${r.tables} tables, ${r.rows} rows`,
    `   ${has('schema.sql')} schema.sql   ${has('grants.sql')} grants.sql   ${has('realtime.sql')} realtime.sql   ${has('extensions.sql')} extensions.sql   ${has('roles.sql')} roles.sql`,
    `   ${has('auth_users.sql')} auth_users.sql (no passwords)   ${has('row_counts.json')} row_counts.json   ${has('content_hashes.json')} content_hashes.json   ${has('restore.sh')} restore.sh`,
    `   ${r.criticalTables > 0 ? '✅' : '—'} ${r.criticalTables} critical tables as CSV (data/, FK order in metadata.json)`,
    `💾 Size:      ${formatBytes(r.sizes.backupBytes)} (database ${formatBytes(r.sizes.databaseBytes)})`,
    `⏱  Duration:  ${formatDuration(r.durationsMs.total ?? 0)}`,
    `🔧 Mode:      ${r.mode}; included: ${r.categories.included.join(', ')}${excluded.length > 0 ? `; excluded: ${excluded.join(', ')}` : ''}`,
    ...leftOut(r.excludedDataTables),
    ...(r.excludedSchemas.length > 0 ? [`🚫 Schemas left out: ${r.excludedSchemas.join(', ')}`] : []),
    `🕒 Created:   ${r.createdAt}`,
    ...(r.pushed ? [pushedLine(r.pushed)] : []),
    '',
    `Restore with: npx dbops restore-db ${shown}${r.pushed ? `  (or, from the copy: npx dbops restore-db ${r.pushed.url})` : ''}`,
  ].join('\n');
}

/** A failed push leaves the backup as it is: the error says where it is and how to push it again. */
async function pushAfterBackup(backupDir: string, remote: string | undefined, ctx: EngineContext, io: CommandIO): Promise<PushedOutput> {
  try {
    return pushedShape(await pushWithProgress(backupDir, remote, ctx, io));
  } catch (error) {
    const e = toDbopsError(error);
    const retry = `dbops push-backup ${backupDir}${remote === undefined ? '' : ` --remote ${remote}`}`;
    throw new DbopsError(e.code, `${e.message} The backup itself is complete at ${backupDir}; \`${retry}\` retries the push.`, {
      hint: e.hint,
      details: [...e.details],
      cause: error,
    });
  }
}

/** The exact tables whose rows a backup left out, never just the category's name. */
function leftOut(tables: ReadonlyArray<{ schema: string; table: string; category?: string | undefined }>): string[] {
  if (tables.length === 0) return [];
  const shown = tables.slice(0, 30).map((t) => `${t.schema}.${t.table}${t.category ? ` (${t.category})` : ''}`);
  return [
    `🚫 Rows left out of ${tables.length} table${tables.length === 1 ? '' : 's'}: ${shown.join(', ')}${tables.length > 30 ? `, … (all ${tables.length} in metadata.json excludedDataTables)` : ''}`,
  ];
}

function planText(plan: z.output<typeof planOutput>): string {
  const width = Math.max(5, ...plan.tables.map((t) => `${t.schema}.${t.table}`.length));
  const rows = plan.tables.map(
    (t) => `  ${`${t.schema}.${t.table}`.padEnd(width)}  ${(t.category ?? '—').padEnd(10)}  ${t.rowsKept ? 'rows kept' : `rows left out: ${t.reason}`}`,
  );
  const out = plan.tables.filter((t) => !t.rowsKept).length;
  return [
    `Plan for a ${plan.mode} backup of ${plan.source} (nothing written):`,
    `  ${'table'.padEnd(width)}  ${'category'.padEnd(10)}  data`,
    ...rows,
    '',
    `${plan.tables.length} tables; rows kept in ${plan.tables.length - out}, left out of ${out}.${plan.excludedSchemas.length > 0 ? ` Schemas left out: ${plan.excludedSchemas.join(', ')}.` : ''}`,
  ].join('\n');
}

export type BackupDbOutput = Output;
