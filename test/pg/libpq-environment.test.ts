import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConnectionUrl } from '../../src/engine/connection.js';
import { runTool } from '../../src/engine/tools/pg-tools.js';
import { useTempDirs } from '../support/backups.js';
import { startCli, withoutProgress, type CliRun } from '../support/cli.js';
import { withPg } from '../support/databases.js';
import { startEmbedded } from '../support/server-providers.js';

// libpq's own ways of giving a password (PGPASSWORD, .pgpass, a service) must work for dbops's
// connection and for pg_dump/pg_restore/psql alike, and a missing password must be an error in
// seconds: a tool waiting on a password prompt once held a backup's snapshot open forever.
// The server is an embedded one with scram-sha-256 (the service on this machine trusts 127.0.0.1).

const tempDir = useTempDirs();
const SECONDS = 1000;
// Whatever happens, a run ends here: a hang becomes a failed test, not a stuck suite.
const KILL_AFTER = 60 * SECONDS;

let server: Awaited<ReturnType<typeof startEmbedded>>;
let host: string;
let password: string;
let home: string;

beforeAll(async () => {
  server = await startEmbedded();
  const admin = new URL(server.adminUrl);
  host = admin.host;
  password = decodeURIComponent(admin.password);
  await withPg(server.adminUrl, async (c) => {
    await c.query('CREATE DATABASE envdb');
    await c.query('CREATE DATABASE envdb_restored');
  });
  await withPg(`${server.adminUrl.replace(/\/postgres$/, '/envdb')}`, (c) =>
    c.query('CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 50)'),
  );
  // No ~/.pgpass or ~/.pg_service.conf of the person running the tests may take part.
  home = await tempDir();
});

afterAll(async () => {
  await server?.stop();
});

/** The CLI with only the environment given (libpq's variables emptied), timed, killed if it hangs. */
async function cli(args: string[], env: Record<string, string>): Promise<CliRun & { ms: number }> {
  const started = Date.now();
  const run = startCli(args, {
    env: {
      HOME: home,
      PGPASSWORD: '',
      PGPASSFILE: '',
      PGSERVICE: '',
      PGSERVICEFILE: '',
      PGSSLMODE: '',
      PGHOST: '',
      PGUSER: '',
      PGDATABASE: '',
      PGPORT: '',
      ...env,
    },
  });
  const timer = setTimeout(() => run.kill('SIGKILL'), KILL_AFTER);
  const result = await run;
  clearTimeout(timer);
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: withoutProgress(String(result.stderr)), ms: Date.now() - started };
}

const noPasswordUrl = () => `postgres://postgres@${host}/envdb`;

describe("the password from libpq's environment", () => {
  it('PGPASSWORD alone: backup and restore finish', async () => {
    const out = await tempDir();
    const backup = await cli(['backup-db', '--url', noPasswordUrl(), '--out', out, '--json'], { PGPASSWORD: password });
    expect(backup.stderr).toBe('');
    expect(backup.exitCode).toBe(0);
    const { backupDir } = JSON.parse(backup.stdout) as { backupDir: string };
    const restore = await cli(['restore-db', backupDir, '--url', `postgres://postgres@${host}/envdb_restored`, '--yes', '--json'], { PGPASSWORD: password });
    expect(restore.exitCode, restore.stdout + restore.stderr).toBe(0);
    const count = await withPg(server.adminUrl.replace(/\/postgres$/, '/envdb_restored'), (c) => c.query<{ n: number }>('SELECT count(*)::int AS n FROM t'));
    expect(count.rows[0]?.n).toBe(50);
    for (const run of [backup, restore]) expect(run.stdout + run.stderr).not.toContain(password);
  });

  it('a .pgpass file alone (PGPASSFILE): the backup finishes', async () => {
    const dir = await tempDir();
    const passfile = path.join(dir, 'pgpass');
    const port = new URL(server.adminUrl).port;
    // A line for another database first: the first matching line wins, as in libpq.
    await writeFile(
      passfile,
      `# dbops test\n127.0.0.1:${port}:otherdb:postgres:wrong\n127.0.0.1:${port}:*:postgres:${password.replace(/([\\:])/g, '\\$1')}\n`,
      { mode: 0o600 },
    );
    const run = await cli(['backup-db', '--url', noPasswordUrl(), '--out', dir, '--json'], { PGPASSFILE: passfile });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
  });

  it('a .pgpass file others may read is ignored, as libpq ignores it', async () => {
    const dir = await tempDir();
    const passfile = path.join(dir, 'pgpass');
    await writeFile(passfile, `*:*:*:*:${password}\n`);
    await chmod(passfile, 0o644);
    const run = await cli(['backup-db', '--url', noPasswordUrl(), '--out', dir], { PGPASSFILE: passfile });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^error \[AUTH_FAILED\]/);
  });

  it('a service (PGSERVICEFILE) gives host, port, database, user and password', async () => {
    const dir = await tempDir();
    const serviceFile = path.join(dir, 'pg_service.conf');
    const [hostname, port] = host.split(':');
    await writeFile(
      serviceFile,
      `[other]\nhost=nowhere.invalid\n\n[dbops_env]\nhost=${hostname}\nport=${port}\ndbname=envdb\nuser=postgres\npassword=${password}\n`,
      { mode: 0o600 },
    );
    const byUrl = await cli(['backup-db', '--url', 'postgres:///?service=dbops_env', '--out', dir, '--json'], { PGSERVICEFILE: serviceFile });
    expect(byUrl.stderr).toBe('');
    expect(byUrl.exitCode).toBe(0);
    const byEnv = await cli(['backup-db', '--url', noPasswordUrl(), '--out', dir, '--json', '--label', 'env'], {
      PGSERVICEFILE: serviceFile,
      PGSERVICE: 'dbops_env',
    });
    expect(byEnv.stderr).toBe('');
    expect(byEnv.exitCode).toBe(0);
    const missing = await cli(['backup-db', '--url', 'postgres:///?service=nope', '--out', dir], { PGSERVICEFILE: serviceFile });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/^error \[URL_INVALID\]: Service "nope" is not defined in /);
  });

  it("PGSSLMODE reaches dbops's own connection (this server has no TLS, so require must fail)", async () => {
    const run = await cli(['backup-db', '--url', noPasswordUrl(), '--out', await tempDir()], { PGPASSWORD: password, PGSSLMODE: 'require' });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^error \[CONNECT_FAILED\]: The server at \S+ does not offer TLS, and sslmode is require\./);
    expect(run.ms).toBeLessThan(15 * SECONDS);
  });
});

describe('no password anywhere', () => {
  it('the backup fails in seconds with one AUTH_FAILED line', async () => {
    const run = await cli(['backup-db', '--url', noPasswordUrl(), '--out', await tempDir()], { PGPASSFILE: path.join(home, 'none') });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      `error [AUTH_FAILED]: The server at ${host} asks user "postgres" for a password, and none was given. Hint: Check the user name and the password (in the URL, PGPASSWORD, .pgpass/PGPASSFILE or the PGSERVICE entry); the password is never printed.`,
    );
    expect(run.ms).toBeLessThan(15 * SECONDS);
  });

  it('pg_dump itself never waits on a prompt: AUTH_FAILED at once', async () => {
    const spec = parseConnectionUrl(noPasswordUrl(), 'test', { HOME: home });
    expect(spec.password).toBeUndefined();
    const started = Date.now();
    const outcome = await Promise.race([
      runTool('pg_dump', ['--schema-only'], { connection: spec }).then(
        () => 'finished',
        (error: { code?: string; message?: string }) => `${error.code}: ${error.message}`,
      ),
      new Promise<string>((resolve) => setTimeout(() => resolve('still waiting'), 20 * SECONDS)),
    ]);
    expect(outcome).toMatch(/^AUTH_FAILED: pg_dump: .*no password supplied/);
    expect(Date.now() - started).toBeLessThan(10 * SECONDS);
  });
});
