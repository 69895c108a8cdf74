import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTempDirs } from '../support/backups.js';
import { DBOPS_BIN, PROGRESS_LINE, runCli, startCli } from '../support/cli.js';
import { FIXTURE, useTestDatabases, withPg } from '../support/databases.js';
import { startEmbedded } from '../support/server-providers.js';

const dbs = useTestDatabases('cli');
const tempDir = useTempDirs();
let source: { name: string; url: string };

beforeAll(async () => {
  source = await dbs.create({ load: [FIXTURE] });
});

async function waitFor(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function pgDumpPids(outDir: string): Promise<string[]> {
  const { stdout } = await execa('pgrep', ['-f', `pg_dump .*--file=${outDir}/`], { reject: false });
  return stdout.split('\n').filter(Boolean);
}

/** Starts a backup that blocks inside pg_dump (a table is locked), then runs `act` on it. */
async function blockedBackup(act: (cli: ReturnType<typeof startCli>, out: string) => Promise<void>) {
  const out = await tempDir();
  return withPg(source.url, async (locker) => {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE public.settings IN ACCESS EXCLUSIVE MODE');
    const cli = startCli(['backup-db', '--url', source.url, '--out', out, '--json']);
    await waitFor(async () => (await pgDumpPids(out)).length > 0, 'pg_dump to start');
    await act(cli, out);
    await locker.query('ROLLBACK');
    const result = await cli;
    return { result, out };
  });
}

describe('dbops backup-db (CLI)', () => {
  it('prints one JSON object with backupDir and exits 0', async () => {
    const out = await tempDir();
    const run = await runCli(['backup-db', '--url', source.url, '--no-transient', '--label', 'nightly', '--out', out, '--json']);
    expect(run.exitCode).toBe(0);
    const json = JSON.parse(run.stdout) as { ok: boolean; backupDir: string; mode: string; categories: { excluded: unknown[] } };
    expect(json).toMatchObject({ ok: true, mode: 'custom', categories: { excluded: [{ name: 'transient', mode: 'data' }] } });
    expect(path.basename(json.backupDir)).toMatch(/^\d{8}_\d{6}_url_nightly$/);
    expect(await readdir(out)).toEqual([path.basename(json.backupDir)]);
  });

  it('uses DBOPS_BACKUP_DIR and the configured target, and prints the summary', async () => {
    const dir = await tempDir();
    const run = await runCli(['backup-db', '--target', 'dev'], { env: { DBOPS_BACKUP_DIR: dir, DATABASE_URL_DEV: source.url } });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^✅ Backup complete/);
    expect(run.stdout).toMatch(/📁 Location: {2}.*_dev\n/);
    expect(run.stdout).toMatch(/🔧 Mode: {6}full; included: core, auth, storage, org_data, transient/);
    expect((await readdir(dir)).filter((f) => f.endsWith('_dev'))).toHaveLength(1);
  });

  it('--plan lists every table with its category and whether its rows are kept, and writes nothing', async () => {
    const out = await tempDir();
    const run = await runCli(['backup-db', '--url', source.url, '--out', out, '--prod', '--plan', '--json']);
    expect(run.exitCode).toBe(0);
    const plan = JSON.parse(run.stdout) as {
      mode: string;
      tables: Array<{ schema: string; table: string; category: string | null; rowsKept: boolean; reason: string | null }>;
    };
    expect(plan.mode).toBe('prod');
    expect(plan.tables).toContainEqual(
      expect.objectContaining({ schema: 'public', table: 'tasks', category: 'transient', rowsKept: false, reason: '--no-transient' }),
    );
    expect(plan.tables).toContainEqual(expect.objectContaining({ schema: 'public', table: 'organizations', category: 'core', rowsKept: true }));
    expect(plan.tables).toContainEqual(expect.objectContaining({ schema: 'auth', table: 'users', category: 'auth', rowsKept: true }));
    expect(await readdir(out)).toEqual([]);
    const text = await runCli(['backup-db', '--url', source.url, '--out', out, '--prod', '--plan']);
    expect(text.stdout).toMatch(/public\.tasks +transient +rows left out: --no-transient/);
    expect(await readdir(out)).toEqual([]);
  });

  it('a backup that leaves rows out names every such table, in its summary, --json and metadata', async () => {
    const out = await tempDir();
    const run = await runCli(['backup-db', '--url', source.url, '--out', out, '--no-transient', '--json']);
    expect(run.exitCode).toBe(0);
    const json = JSON.parse(run.stdout) as { backupDir: string; excludedDataTables: Array<{ schema: string; table: string; category: string }> };
    expect(json.excludedDataTables).toContainEqual({ schema: 'public', table: 'tasks', category: 'transient' });
    const metadata = JSON.parse(await readFile(path.join(json.backupDir, 'metadata.json'), 'utf8')) as { excludedDataTables: unknown[] };
    expect(metadata.excludedDataTables).toEqual(json.excludedDataTables);
    const text = await runCli(['backup-db', '--url', source.url, '--out', out, '--no-transient', '--label', 'text']);
    expect(text.stdout).toMatch(/Rows left out of \d+ tables?: .*public\.tasks \(transient\)/);
  });

  it('with stderr redirected to a file (cron, CI, an agent shell): timestamped progress lines, one per phase, and the summary on stdout', async () => {
    const out = await tempDir();
    const log = path.join(await tempDir(), 'stderr.log');
    const run = await execa(process.execPath, [DBOPS_BIN, 'backup-db', '--url', source.url, '--out', out], {
      reject: false,
      stdin: 'ignore',
      stderr: { file: log },
      env: { DBOPS_SPOOL_DIR: await tempDir(), DBOPS_EVENTS_URL: '', DATABASE_URL: '' },
    });
    expect(run.exitCode).toBe(0);
    expect(String(run.stdout)).toMatch(/^✅ Backup complete/);
    const lines = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(3);
    expect(
      lines.every((l) => PROGRESS_LINE.test(l)),
      lines.join('\n'),
    ).toBe(true);
    for (const phase of ['connecting to', 'snapshot', 'computing checksums'])
      expect(
        lines.some((l) => l.includes(phase)),
        phase,
      ).toBe(true);
    // No terminal: no bar, no escape sequences.
    expect(lines.join('')).not.toContain('\u001b[');
  });

  it('on a terminal: a live bar with tables done/total, bytes written and their rate, ETA, then the summary', async () => {
    // util-linux `script` gives the CLI a pseudo-terminal, as a person's shell would.
    const out = await tempDir();
    const table = `CREATE TABLE public.progress_probe AS SELECT g, md5(g::text) AS m FROM generate_series(1, 200000) g`;
    await withPg(source.url, (c) => c.query(table));
    try {
      const line = `${process.execPath} ${DBOPS_BIN} backup-db --url '${source.url}' --out '${out}'`;
      const run = await execa('script', ['-qec', line, '/dev/null'], {
        reject: false,
        stdin: 'ignore',
        env: { DBOPS_SPOOL_DIR: await tempDir(), DBOPS_EVENTS_URL: '', DATABASE_URL: '', TERM: 'xterm' },
      });
      expect(run.exitCode, String(run.stdout)).toBe(0);
      const screen = String(run.stdout).split(/\r|\u001b\[1G/);
      expect(screen.some((l) => /\[[=-]{40}\] \d+\/\d+ \| .*left \| /.test(l))).toBe(true);
      expect(screen.some((l) => /\d+(\.\d)? (KB|MB) at \d+(\.\d)? (KB|MB)\/s \| /.test(l))).toBe(true);
      expect(String(run.stdout)).toContain('✅ Backup complete');
    } finally {
      await withPg(source.url, (c) => c.query('DROP TABLE public.progress_probe'));
    }
  });

  it('exits 2 with a one-line error for usage mistakes', async () => {
    const unknownFlag = await runCli(['backup-db', '--no-such-flag']);
    expect(unknownFlag.exitCode).toBe(2);
    expect(unknownFlag.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknownFlag.stderr).toMatch(/^error \[USAGE\]: backup-db: Unknown option '--no-such-flag'\. Valid options: .*--no-transient/);
    const noUrl = await runCli(['backup-db', '--target', 'prod']);
    expect(noUrl.exitCode).toBe(2);
    expect(noUrl.stderr).toBe(
      'error [TARGET_URL_MISSING]: Target "prod" has no URL: set DATABASE_URL_PROD. Hint: Set the environment variable (or put it in .env), or pass --url.',
    );
    const pooler = await runCli(['backup-db', '--url', 'postgres://u:pw@x.pooler.supabase.com:6543/postgres', '--json']);
    expect(pooler.exitCode).toBe(2);
    expect(JSON.parse(pooler.stdout)).toMatchObject({ ok: false, error: { code: 'URL_POOLER_TRANSACTION' } });
  });

  it('exits 1 quickly when the server is unreachable, naming it without the password', async () => {
    const run = await runCli(['backup-db', '--url', 'postgres://u:topsecret@127.0.0.1:1/db', '--out', await tempDir()]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^error \[CONNECT_FAILED\]: Cannot connect to 127\.0\.0\.1:1: .*Hint: /);
    expect(run.stderr + run.stdout).not.toContain('topsecret');
  });

  it('a killed pg_dump leaves no backup folder behind and says so', async () => {
    const { result, out } = await blockedBackup(async (_cli, dir) => {
      for (const pid of await pgDumpPids(dir)) process.kill(Number(pid), 'SIGKILL');
    });
    expect(result.exitCode).toBe(1);
    expect(JSON.parse(String(result.stdout))).toMatchObject({ ok: false, error: { code: 'TOOL_KILLED', message: 'pg_dump was killed by SIGKILL.' } });
    expect(await readdir(out)).toEqual([]);
  });

  it('SIGTERM stops the backup, kills pg_dump and removes the unfinished folder', async () => {
    const { result, out } = await blockedBackup(async (cli, dir) => {
      cli.kill('SIGTERM');
      // While the lock still holds pg_dump: the interrupt alone must end it and the CLI.
      await waitFor(async () => (await pgDumpPids(dir)).length === 0, 'pg_dump to be stopped');
      await waitFor(async () => cli.exitCode !== null, 'the CLI to exit');
    });
    expect(result.exitCode).toBe(1);
    expect(JSON.parse(String(result.stdout))).toMatchObject({ ok: false, error: { code: 'INTERRUPTED' } });
    expect(await readdir(out)).toEqual([]);
    expect(await pgDumpPids(out)).toEqual([]);
  });
});

describe('a password with special characters', () => {
  const PASSWORD = `p@ss:w/rd#?%&"'`;
  let server: Awaited<ReturnType<typeof startEmbedded>>;
  beforeAll(async () => {
    server = await startEmbedded();
    await withPg(server.adminUrl, async (c) => {
      await c.query(`CREATE ROLE special LOGIN SUPERUSER PASSWORD ${c.escapeLiteral(PASSWORD)}`);
      await c.query('CREATE DATABASE special_db OWNER special');
    });
    return () => server.stop();
  });

  it('reaches pg_dump and the catalog, and appears nowhere in the output or the backup', async () => {
    const url = `postgres://special:${encodeURIComponent(PASSWORD)}@${new URL(server.adminUrl).host}/special_db`;
    await withPg(url, (c) => c.query('CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)'));
    const out = await tempDir();
    const run = await runCli(['backup-db', '--url', url, '--out', out, '--json']);
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    const { backupDir } = JSON.parse(run.stdout) as { backupDir: string };
    const rows = JSON.parse(await readFile(path.join(backupDir, 'row_counts.json'), 'utf8')) as { tables: unknown[] };
    // code_ops.artifact_events holds this run's own `invoked` event (self-reporting into the target).
    expect(rows.tables.filter((t) => (t as { schema: string }).schema !== 'code_ops')).toEqual([{ schema: 'public', table: 't', rows: 2, dataIncluded: true }]);
    for (const file of await readdir(backupDir, { recursive: true })) {
      const full = path.join(backupDir, String(file));
      if (!String(file).startsWith('dump') && (await stat(full)).isFile()) {
        const text = await readFile(full, 'utf8');
        expect(text, String(file)).not.toContain(PASSWORD);
        expect(text, String(file)).not.toContain(encodeURIComponent(PASSWORD));
      }
    }
    expect(run.stdout).not.toContain(encodeURIComponent(PASSWORD));
  });

  it('a wrong password fails with AUTH_FAILED and without echoing it', async () => {
    const url = `postgres://special:${encodeURIComponent('wrong#pw')}@${new URL(server.adminUrl).host}/special_db`;
    const run = await runCli(['backup-db', '--url', url, '--out', await tempDir()]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^error \[AUTH_FAILED\]: The server at 127\.0\.0\.1:\d+ refused user "special"/);
    expect(run.stderr).not.toContain('wrong#pw');
  });
});
