import path from 'node:path';
import { backupDatabase, backupOptionsSchema, type BackupResult } from '../engine/backup/backup.js';
import { planBackup, type BackupPlan } from '../engine/backup/plan-backup.js';
import { parseInput } from '../engine/input.js';
import type { Config } from '../engine/config.js';
import { intOption, stringOption, type OptionSpec } from './args.js';
import type { CommandBinding } from './binding.js';
import { formatBytes, formatDuration } from './format.js';

// /backup-db and `dbops backup-db`.

/** --no-<category> for every category that can be left out (--no-org-data → org_data). */
export function categoryFlags(config: Config): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config.categories)
      .filter(([, c]) => c.exclude !== 'never')
      .map(([name]) => [`no-${name.replace(/_/g, '-')}`, name]),
  );
}

function options(config: Config): OptionSpec {
  return {
    target: { type: 'string' },
    url: { type: 'string' },
    prod: { type: 'boolean' },
    label: { type: 'string' },
    out: { type: 'string' },
    jobs: { type: 'string' },
    'content-hashes': { type: 'boolean' },
    'no-content-hashes': { type: 'boolean' },
    plan: { type: 'boolean' },
    ...Object.fromEntries(Object.keys(categoryFlags(config)).map((flag) => [flag, { type: 'boolean' as const }])),
  };
}

export const backupDb: CommandBinding<ReturnType<typeof backupOptionsSchema.parse>, BackupResult | BackupPlan> = {
  name: 'backup-db',
  inputSchema: backupOptionsSchema,
  options,
  maxPositionals: 0,
  fromArgv({ values: v }, config) {
    return {
      target: stringOption(v.target),
      url: stringOption(v.url),
      prod: v.prod === true,
      exclude: Object.entries(categoryFlags(config)).filter(([flag]) => v[flag] === true).map(([, name]) => name),
      label: stringOption(v.label),
      out: stringOption(v.out),
      jobs: intOption('backup-db', 'jobs', v.jobs),
      contentHashes: v['content-hashes'] === true ? true : v['no-content-hashes'] === true ? false : undefined,
      plan: v.plan === true,
    };
  },
  targetChoice: (input) => ({ target: input.target, url: input.url }),
  run(input, ctx, io) {
    if (input.plan) return planBackup(parseInput('backup-db', backupOptionsSchema, input), ctx);
    return backupDatabase(input, ctx, (p) => {
      if (p.phase === 'connect') io.progress(`connecting to ${p.target}`);
      else if (p.phase === 'snapshot') io.progress(`snapshot ${p.snapshot}: ${p.tables} tables`);
      else if (p.phase === 'dump-table') io.progress(`dumping ${p.table}`);
      else if (p.phase === 'csv') io.progress(`exporting ${p.table} as CSV`);
      else if (p.phase === 'files') io.progress('writing schema, grants, roles, realtime and extension files');
      else if (p.phase === 'checksums') io.progress('computing checksums');
    });
  },
  succeeded: () => true,
  toJson(result) {
    if (!('manifest' in result)) return { ok: true, plan: result };
    const m = result.manifest;
    return {
      ok: true,
      backupDir: result.backupDir,
      folder: result.folder,
      target: m.target,
      mode: m.mode,
      createdAt: m.createdAt,
      categories: m.categories,
      tables: result.tables,
      rows: result.rows,
      sizes: m.sizes,
      durationsMs: m.durationsMs,
      files: Object.keys(m.files).length,
      excludedDataTables: m.excludedDataTables,
    };
  },
  toText(result, cwd) {
    if (!('manifest' in result)) return planText(result);
    const m = result.manifest;
    const has = (file: string) => (file in m.files ? '✅' : '—');
    const shown = path.relative(cwd, result.backupDir).startsWith('..') ? result.backupDir : path.relative(cwd, result.backupDir);
    const excluded = m.categories.excluded.map((e) => `${e.name} (${e.mode === 'schema' ? 'schema left out' : 'tables empty'})`);
    return [
      '✅ Backup complete',
      '',
      `📁 Location:  ${shown}`,
      `🎯 Source:    ${m.target} (${m.source.host}:${m.source.port}/${m.source.database}), PostgreSQL ${m.server.version.split(' ')[1] ?? m.server.versionNum}`,
      '📦 Contents:',
      `   ${has('dump/toc.dat')} full dump (dump/, directory format, pg_restore -j ready) — ${result.tables} tables, ${result.rows} rows`,
      `   ${has('schema.sql')} schema.sql   ${has('grants.sql')} grants.sql   ${has('realtime.sql')} realtime.sql   ${has('extensions.sql')} extensions.sql   ${has('roles.sql')} roles.sql`,
      `   ${has('auth_users.sql')} auth_users.sql (no passwords)   ${has('row_counts.json')} row_counts.json   ${has('content_hashes.json')} content_hashes.json   ${has('restore.sh')} restore.sh`,
      `   ${m.criticalTables.length > 0 ? '✅' : '—'} ${m.criticalTables.length} critical tables as CSV (data/, FK order in metadata.json)`,
      `💾 Size:      ${formatBytes(m.sizes.backupBytes)} (database ${formatBytes(m.sizes.databaseBytes)})`,
      `⏱  Duration:  ${formatDuration(m.durationsMs.total ?? 0)}`,
      `🔧 Mode:      ${m.mode}; included: ${m.categories.included.join(', ')}${excluded.length > 0 ? `; excluded: ${excluded.join(', ')}` : ''}`,
      ...leftOut(m.excludedDataTables),
      `🕒 Created:   ${m.createdAt}`,
      '',
      `Restore with: npx dbops restore-db ${shown}`,
    ].join('\n');
  },
  eventDetails: (result) =>
    'manifest' in result
      ? {
          backup_dir: result.backupDir,
          size: result.manifest.sizes.backupBytes,
          duration_ms: result.manifest.durationsMs.total ?? null,
          counts: { tables: result.tables, rows: result.rows },
          mode: result.manifest.mode,
          excluded_data_tables: result.manifest.excludedDataTables.map((t) => `${t.schema}.${t.table}`),
        }
      : { plan: true, mode: result.mode, tables: result.tables.length, rows_left_out: result.tables.filter((t) => !t.rowsKept).map((t) => `${t.schema}.${t.table}`) },
};

/** The exact tables whose rows a backup left out, never just the category's name. */
function leftOut(tables: ReadonlyArray<{ schema: string; table: string; category?: string | undefined }>): string[] {
  if (tables.length === 0) return [];
  const shown = tables.slice(0, 30).map((t) => `${t.schema}.${t.table}${t.category ? ` (${t.category})` : ''}`);
  return [`🚫 Rows left out of ${tables.length} table${tables.length === 1 ? '' : 's'}: ${shown.join(', ')}${tables.length > 30 ? `, … (all ${tables.length} in metadata.json excludedDataTables)` : ''}`];
}

function planText(plan: BackupPlan): string {
  const width = Math.max(5, ...plan.tables.map((t) => `${t.schema}.${t.table}`.length));
  const rows = plan.tables.map((t) => `  ${`${t.schema}.${t.table}`.padEnd(width)}  ${(t.category ?? '—').padEnd(10)}  ${t.rowsKept ? 'rows kept' : `rows left out: ${t.reason}`}`);
  const out = plan.tables.filter((t) => !t.rowsKept).length;
  return [
    `Plan for a ${plan.mode} backup of ${plan.source} (nothing written):`,
    `  ${'table'.padEnd(width)}  ${'category'.padEnd(10)}  data`,
    ...rows,
    '',
    `${plan.tables.length} tables; rows kept in ${plan.tables.length - out}, left out of ${out}.${plan.excludedSchemas.length > 0 ? ` Schemas left out: ${plan.excludedSchemas.join(', ')}.` : ''}`,
  ].join('\n');
}
