import { chown, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConnectionUrl } from '../../src/engine/connection.js';
import { withClient } from '../../src/engine/pg/client.js';
import { useTempDirs } from '../support/backups.js';
import { runCli } from '../support/cli.js';
import { useTestDatabases, withPg } from '../support/databases.js';
import { startEmbedded } from '../support/server-providers.js';

// dbops's own connection carries table data and auth.users password hashes. With no sslmode it
// must use TLS when the server offers it (libpq's prefer: try TLS, fall back only when the server
// refuses), require it for hosts that are not this machine, and refuse a misspelt sslmode before
// connecting. Two real servers: the run's server as it is, and an embedded one with TLS turned on.

const dbs = useTestDatabases('tls');
const tempDir = useTempDirs();

async function usesTls(url: string, env: NodeJS.ProcessEnv = {}): Promise<boolean> {
  return withClient(parseConnectionUrl(url, 'test', env), async (c) => {
    const r = await c.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    return r.rows[0]!.ssl;
  });
}

describe("the run's server, as configured", () => {
  it('prefer by default: TLS when the server has it on, plain when it refuses', async () => {
    const ssl = await withPg(dbs.adminUrl, async (c) => (await c.query<{ ssl: string }>('SHOW ssl')).rows[0]!.ssl);
    expect(await usesTls(dbs.adminUrl)).toBe(ssl === 'on');
  });

  it('sslmode=require against a server without TLS fails in seconds with one line naming the cause', async () => {
    const ssl = await withPg(dbs.adminUrl, async (c) => (await c.query<{ ssl: string }>('SHOW ssl')).rows[0]!.ssl);
    if (ssl === 'on') return expect(await usesTls(`${dbs.adminUrl}?sslmode=require`)).toBe(true);
    const db = await dbs.create();
    const url = new URL(db.url);
    url.searchParams.set('sslmode', 'require');
    const started = Date.now();
    const run = await runCli(['backup-db', '--url', url.toString(), '--out', await tempDir()]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      `error [CONNECT_FAILED]: The server at ${url.hostname}:${url.port} does not offer TLS, and sslmode is require. Hint: Turn on ssl in the server, or, for a server reached only over a network you trust, add sslmode=disable (or prefer) to the URL.`,
    );
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('a misspelt sslmode is refused before any connection is tried', async () => {
    // Port 1 answers nobody: reaching it would be CONNECT_FAILED, not URL_INVALID.
    const run = await runCli(['backup-db', '--url', 'postgres://u:pw@127.0.0.1:1/d?sslmode=requir', '--json']);
    expect(run.exitCode).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({
      ok: false,
      error: {
        code: 'URL_INVALID',
        message: 'The sslmode "requir" for the connection from --url is not one of disable, allow, prefer, require, verify-ca, verify-full.',
      },
    });
    const fromEnv = await runCli(['backup-db', '--url', 'postgres://u:pw@127.0.0.1:1/d', '--json'], { env: { PGSSLMODE: 'yes' } });
    expect(JSON.parse(fromEnv.stdout)).toMatchObject({ ok: false, error: { code: 'URL_INVALID' } });
  });
});

describe('a server with TLS on', () => {
  let server: Awaited<ReturnType<typeof startEmbedded>>;
  let certFile: string;

  beforeAll(async () => {
    server = await startEmbedded();
    const dir = await tempDir();
    const key = path.join(dir, 'server.key');
    certFile = path.join(dir, 'server.crt');
    await execa('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      certFile,
    ]);
    await withPg(server.adminUrl, async (c) => {
      const dataDir = (await c.query<{ d: string }>("SELECT current_setting('data_directory') AS d")).rows[0]!.d;
      // The server runs as the data directory's owner (postgres, when the tests run as root) and
      // reads only a key file that owner holds with no access for others.
      const owner = await stat(dataDir);
      for (const [from, name] of [
        [key, 'server.key'],
        [certFile, 'server.crt'],
      ] as const) {
        const to = path.join(dataDir, name);
        await writeFile(to, await readFile(from), { mode: 0o600 });
        await chown(to, owner.uid, owner.gid);
      }
      await c.query('ALTER SYSTEM SET ssl = on');
      await c.query('SELECT pg_reload_conf()');
      // The reload is asynchronous: wait until the server says so.
      for (let i = 0; i < 50 && (await c.query<{ ssl: string }>('SHOW ssl')).rows[0]!.ssl !== 'on'; i++) await new Promise((r) => setTimeout(r, 100));
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('is used with no sslmode at all (prefer), and a backup over it works', async () => {
    expect(await usesTls(server.adminUrl)).toBe(true);
    // disable still means disable.
    expect(await usesTls(`${server.adminUrl}?sslmode=disable`)).toBe(false);
    const out = await tempDir();
    const run = await runCli(['backup-db', '--url', server.adminUrl, '--out', out, '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
  });

  it('verify-full checks the certificate against sslrootcert, and refuses an unknown one', async () => {
    expect(await usesTls(`${server.adminUrl}?sslmode=verify-full&sslrootcert=${encodeURIComponent(certFile)}`)).toBe(true);
    const refused = await usesTls(`${server.adminUrl}?sslmode=verify-full`).catch((e: { code: string; message: string }) => `${e.code}: ${e.message}`);
    expect(refused).toMatch(/^CONNECT_FAILED: Cannot connect to 127\.0\.0\.1:\d+: self.signed certificate/);
  });
});
