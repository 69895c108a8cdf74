import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { PACKAGE_ROOT } from '../cli/paths.js';
import { backupDatabase } from '../engine/backup/backup.js';
import { parseConfig } from '../engine/config.js';
import { parseConnectionUrl, withDatabase } from '../engine/connection.js';
import { startEmbeddedServer } from '../engine/pg/embedded-server.js';
import { restoreDatabase } from '../engine/restore/restore.js';
import { runTool } from '../engine/tools/pg-tools.js';

// `npm run bench`: figures, not assertions. CLI start-up (target: `npx dbops --help` under
// 300 ms), then backup and restore of a generated database against the old script's path.
// Server: BENCH_DATABASE_URL or TEST_DATABASE_URL (an admin URL), else an embedded PostgreSQL.
// Size: BENCH_ROWS event rows (default 400000, about 150 MB).

const run = promisify(execFile);

function stats(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `median ${median.toFixed(0)} ms (min ${sorted[0]!.toFixed(0)}, max ${sorted.at(-1)!.toFixed(0)}, n=${ms.length})`;
}

async function timeCommand(file: string, args: string[], times: number): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < times; i++) {
    const t = performance.now();
    await run(file, args, { cwd: PACKAGE_ROOT });
    result.push(performance.now() - t);
  }
  return result;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export async function runBench(): Promise<void> {
  const line = (text: string) => process.stdout.write(`${text}\n`);
  line('== CLI start-up');
  line(`npx dbops --help          ${stats(await timeCommand('npx', ['dbops', '--help'], 7))}   target < 300 ms`);
  line(`node bin/dbops.js --help  ${stats(await timeCommand(process.execPath, ['bin/dbops.js', '--help'], 7))}`);

  const rows = Number(process.env.BENCH_ROWS ?? 400_000);
  const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  const embedded = adminUrl ? undefined : await startEmbeddedServer();
  const admin = parseConnectionUrl(adminUrl ?? embedded!.adminUrl, 'bench server');
  const work = await mkdtemp(path.join(tmpdir(), 'dbops-bench-'));
  const names = ['dbops_bench_src', 'dbops_bench_dst', 'dbops_bench_old'];
  const adminClient = async (sql: string) => {
    const c = new pg.Client({ connectionString: adminUrl ?? embedded!.adminUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  try {
    for (const n of names) {
      await adminClient(`DROP DATABASE IF EXISTS ${n} WITH (FORCE)`);
      await adminClient(`CREATE DATABASE ${n}`);
    }
    const src = withDatabase(admin, 'dbops_bench_src');
    line(`\n== generating ${rows} event rows and ${Math.round(rows / 75)} documents (${embedded ? 'embedded server' : `${admin.host}:${admin.port}`})`);
    const t0 = performance.now();
    await runTool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `
      CREATE TABLE public.events (id bigserial PRIMARY KEY, at timestamptz, user_id uuid, kind text, payload jsonb, body text);
      INSERT INTO public.events (at, user_id, kind, payload, body)
      SELECT now() - (g || ' seconds')::interval, gen_random_uuid(), (ARRAY['click','view','buy','signup'])[1 + g % 4],
             jsonb_build_object('n', g, 'h', md5(g::text), 'score', random()),
             md5(random()::text) || ' ' || repeat(substr(md5(g::text), 1, 8) || ' lorem ipsum dolor ', 6)
        FROM generate_series(1, ${rows}) g;
      CREATE TABLE public.organizations (id serial PRIMARY KEY, name text);
      INSERT INTO public.organizations (name) SELECT 'org ' || g FROM generate_series(1, 1000) g;
      CREATE TABLE public.docs (id serial PRIMARY KEY, organization_id int REFERENCES public.organizations (id), content text);
      INSERT INTO public.docs (organization_id, content) SELECT 1 + g % 1000, string_agg(md5(random()::text), ' ') FROM generate_series(1, ${Math.round(rows / 75)}) g, generate_series(1, 30) k GROUP BY g;
      ANALYZE;`], { connection: src });
    const size = await runTool('psql', ['-X', '-At', '-c', 'SELECT pg_database_size(current_database())'], { connection: src });
    const dbBytes = Number(size.stdout);
    line(`generated ${mb(dbBytes)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const config = parseConfig('{}', 'defaults');
    const env = { DBOPS_BACKUP_DIR: path.join(work, 'backups'), DBOPS_SPOOL_DIR: path.join(work, 'spool') };
    const ctx = { root: PACKAGE_ROOT, config, env };
    const url = (db: string) => `postgres://${encodeURIComponent(admin.user)}${admin.password ? `:${encodeURIComponent(admin.password)}` : ''}@${admin.host}:${admin.port}/${db}`;

    line('\n== dbops backup-db (directory format, -j2, gzip level 1, one snapshot, CSVs, counts, checksums)');
    const rssBefore = process.resourceUsage().maxRSS;
    const b0 = performance.now();
    const backup = await backupDatabase({ url: url('dbops_bench_src'), contentHashes: false }, ctx);
    const backupMs = performance.now() - b0;
    line(`backup   ${(backupMs / 1000).toFixed(1)} s, ${mb(backup.manifest.sizes.backupBytes)}, ${(dbBytes / 1024 / 1024 / (backupMs / 1000)).toFixed(0)} MB/s of database`);
    line(`         pg_dump ${(backup.manifest.durationsMs.dump ?? 0) / 1000} s, row counts ${(backup.manifest.durationsMs.rowCounts ?? 0) / 1000} s, checksums and files the rest`);

    const r0 = performance.now();
    const restored = await restoreDatabase({ backup: backup.backupDir, url: url('dbops_bench_dst'), yes: true, safetyBackup: false }, ctx);
    const restoreMs = performance.now() - r0;
    line(`restore  ${(restoreMs / 1000).toFixed(1)} s (pg_restore -j2, grants, realtime, verification: ${restored.verification.verified ? 'verified' : 'NOT verified'})`);
    line(`memory   peak RSS ${mb(process.resourceUsage().maxRSS * 1024)} (was ${mb(rssBefore * 1024)} before the backup): the dump streams, nothing is held in memory`);

    line('\n== the old script\'s path, same database');
    const o0 = performance.now();
    await runTool('psql', ['-X', '-q', '-c', 'SELECT 1'], { connection: src });
    await run('bash', ['-c', `pg_dump | gzip > ${path.join(work, 'old.sql.gz')}`], { env: { ...process.env, PGHOST: admin.host, PGPORT: String(admin.port), PGUSER: admin.user, PGPASSWORD: admin.password ?? '', PGDATABASE: 'dbops_bench_src' } });
    const oldDumpMs = performance.now() - o0;
    const o1 = performance.now();
    await run('bash', ['-c', `gunzip -c ${path.join(work, 'old.sql.gz')} | psql -X -q -v ON_ERROR_STOP=1 >/dev/null`], { env: { ...process.env, PGHOST: admin.host, PGPORT: String(admin.port), PGUSER: admin.user, PGPASSWORD: admin.password ?? '', PGDATABASE: 'dbops_bench_old' } });
    const oldRestoreMs = performance.now() - o1;
    line(`pg_dump | gzip      ${(oldDumpMs / 1000).toFixed(1)} s   (dbops backup: ${(backupMs / 1000).toFixed(1)} s, ${(oldDumpMs / backupMs).toFixed(1)}x)`);
    line(`gunzip | psql       ${(oldRestoreMs / 1000).toFixed(1)} s   (dbops restore: ${(restoreMs / 1000).toFixed(1)} s)`);
  } finally {
    for (const n of names) await adminClient(`DROP DATABASE IF EXISTS ${n} WITH (FORCE)`).catch(() => undefined);
    await embedded?.stop();
    await rm(work, { recursive: true, force: true });
  }
}
