import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import { startEmbeddedServer, type EmbeddedServer } from '../../src/engine/pg/embedded-server.js';
import { backupInto } from '../support/backups.js';
import { FIXTURE, PROJECT_ROOT, withPg } from '../support/databases.js';
import { fingerprint } from '../support/fingerprint.js';
import { alive, childrenNow, DBOPS_BIN, defineFaults, waitQuickly, type FaultCase, type FaultRun } from './harness.js';
import { firstLine, markers, openLocker, PHASES, restoreUntil, sameRows, stateOf } from './restore-support.js';

// The server goes away (stopped mid-backup, mid-restore) and the disk fills (the backups folder,
// the server's own disk). A throwaway PostgreSQL plays the server here — the machine's service is
// shared with other work and is never stopped — and small disks are tmpfs mounts in a mount
// namespace of their own (unshare -m), so nothing stays mounted whatever happens.

const url = (server: EmbeddedServer, db: string) => server.adminUrl.replace(/\/postgres$/, `/${db}`);

async function createDatabase(server: EmbeddedServer, name: string, sql: string[]): Promise<string> {
  await withPg(server.adminUrl, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
  await withPg(url(server, name), async (c) => {
    for (const statement of sql) await c.query(statement);
  });
  return url(server, name);
}

const BULK = `CREATE TABLE public.bulk AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 600000) g; ALTER TABLE public.bulk ADD PRIMARY KEY (id)`;
const SETTINGS = (value: string) => `CREATE TABLE public.settings (key text PRIMARY KEY, value text); INSERT INTO public.settings VALUES ('${value}', 'x')`;

/** The server's postmaster: the postgres process listening on this URL's port, with what it was started with. */
async function postmaster(adminUrl: string): Promise<{ pid: number; argv: string[]; uid: number; gid: number }> {
  const port = new URL(adminUrl).port;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);
    if (!argv[0]?.endsWith('/postgres') || argv[argv.indexOf('-p') + 1] !== port) continue;
    const status = await readFile(`/proc/${entry}/status`, 'utf8');
    const id = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)![1]);
    return { pid: Number(entry), argv, uid: id('Uid'), gid: id('Gid') };
  }
  throw new Error(`no postmaster on port ${port}`);
}

/** A fast shutdown (what `pg_ctl stop -m fast` sends): every session is ended, the data stays. */
async function stopServer(pid: number): Promise<boolean> {
  process.kill(pid, 'SIGINT');
  return (await waitQuickly(async () => (alive(pid) ? undefined : true), 30_000, 50)) === true;
}

/** Wrapped in an object: an execa process is a promise, and returning it from an async function would wait for its end. */
async function startAgain(pm: { argv: string[]; uid: number; gid: number }, adminUrl: string): Promise<{ server: ResultPromise }> {
  const server = execa(pm.argv[0]!, pm.argv.slice(1), {
    uid: pm.uid,
    gid: pm.gid,
    env: { LC_ALL: 'C', LANG: 'C' },
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
    buffer: false,
  });
  const ready = await waitQuickly(async () => withPg(adminUrl, async () => true).catch(() => undefined), 30_000, 200);
  if (!ready) throw new Error('the server did not start again');
  return { server };
}

/** dbops run with `dir` on a tmpfs of `size` in a mount namespace of its own; `left` is what it left there. */
async function onSmallDisk(t: FaultRun, size: string, dir: string, args: string[], env: Record<string, string>) {
  const leftFile = path.join(await t.dir(), 'left');
  const unshare = process.getuid?.() === 0 ? ['-m'] : ['-Urm'];
  const script = 'mount -t tmpfs -o size="$SIZE" tmpfs "$1" || exit 99; shift; dir="$1"; shift; "$@"; rc=$?; ls -A "$dir" > "$LEFT"; exit $rc';
  const run = await execa('unshare', [...unshare, 'sh', '-c', script, 'sh', dir, dir, process.execPath, DBOPS_BIN, ...args], {
    cwd: PROJECT_ROOT,
    reject: false,
    stdin: 'ignore',
    env: { ...t.env, DATABASE_URL: '', DATABASE_URL_DEV: '', DATABASE_URL_STAGING: '', PGPASSWORD: '', ...env, SIZE: size, LEFT: leftFile },
  });
  t.record(String(run.stdout) + String(run.stderr));
  const left = (await readFile(leftFile, 'utf8').catch(() => '?')).trim();
  return { exitCode: run.exitCode, stdout: String(run.stdout), stderr: String(run.stderr), left };
}

const cases: FaultCase[] = [
  {
    name: 'server stopped mid-backup (pg_dump running)',
    category: 'fault',
    expected: 'exit 1 with the connection failure as the first real error (not INTERNAL); nothing published, no unfinished folder left',
    timeoutMs: 240_000,
    async run(t) {
      const server = await startEmbeddedServer({ password: t.secret });
      try {
        const source = await createDatabase(server, 'fault_source', [BULK, SETTINGS('theme')]);
        // The lock keeps pg_dump waiting at its start, so the stop lands while it runs.
        const locker = await openLocker(source, 'LOCK TABLE public.settings IN ACCESS EXCLUSIVE MODE');
        const child = t.start(['backup-db', '--target', 'staging'], { env: { DATABASE_URL_STAGING: source, DBOPS_LOCK_TIMEOUT: '60s' } });
        const dump = await waitQuickly(
          async () => (child.exitCode !== null ? null : (await childrenNow(child.pid!)).find((p) => /pg_dump/.test(p.command) && !/--version/.test(p.command))),
          60_000,
          20,
        );
        const stopped = dump ? await stopServer((await postmaster(server.adminUrl)).pid) : false;
        const run = await t.finish(child);
        await locker.release();
        const left = await readdir(t.backupsDir);
        const line = firstLine(run.stderr);
        return {
          observed: `pg_dump ${dump ? 'running' : 'NEVER SEEN'}, server ${stopped ? 'stopped' : 'NOT stopped'}; exit ${run.exitCode}; "${line.slice(0, 180)}"; ${left.length} folder(s) left`,
          held:
            Boolean(dump) &&
            stopped &&
            run.exitCode === 1 &&
            /CONNECT_FAILED|TOOL_FAILED|TOOL_KILLED|QUERY_FAILED/.test(line) &&
            /terminat|server closed|connection|shut/i.test(line) &&
            left.length === 0,
        };
      } finally {
        await server.stop();
      }
    },
  },
  {
    name: 'server stopped mid-restore, then started again',
    category: 'fault',
    expected:
      'exit 1 naming the lost connection; the rollback cannot connect, so a marker stays and the message says the next run puts the target back; once the server is back, the next restore does so first, then restores; never half-restored for good',
    timeoutMs: 300_000,
    async run(t) {
      const server = await startEmbeddedServer({ password: t.secret });
      let again: { server: ResultPromise } | undefined;
      try {
        const source = await createDatabase(server, 'fault_source', [BULK, SETTINGS('theme')]);
        const target = await createDatabase(server, 'fault_target', [
          SETTINGS('only-in-target'),
          `CREATE TABLE public.target_only AS SELECT g AS id FROM generate_series(1, 1000) g`,
        ]);
        const backup = await backupInto(source, t.backupsDir);
        const before = await fingerprint(target);
        const expected = await fingerprint(source);
        expected.tables['public.target_only'] = before.tables['public.target_only']!;
        const { child, found } = await restoreUntil(t, backup.backupDir, target, PHASES.data);
        if (!found) return { observed: `pg_restore never loaded data (exit ${(await t.finish(child)).exitCode})`, held: false };
        const pm = await postmaster(server.adminUrl);
        const stopped = await stopServer(pm.pid);
        const first = await t.finish(child);
        const left = await markers(t.backupsDir);
        again = await startAgain(pm, server.adminUrl);
        const halfway = stateOf(await fingerprint(target), before, expected);
        const rerun = await t.cli(['restore-db', backup.backupDir, '--target', 'dev', '--yes'], { env: { DATABASE_URL_DEV: target } });
        const final = stateOf(await fingerprint(target), before, expected);
        const putBackFirst = /was first put back from its pre-restore snapshot/.test(rerun.stdout);
        return {
          observed: `server ${stopped ? 'stopped' : 'NOT stopped'} during pg_restore; exit ${first.exitCode}: "${firstLine(first.stderr).slice(0, 200)}"; ${left.length} marker(s); after restart: ${halfway}; rerun exit ${rerun.exitCode}, ${putBackFirst ? 'put the target back first' : 'did NOT put it back first'}; target ${final}`,
          held:
            stopped &&
            first.exitCode === 1 &&
            /ROLLBACK_FAILED/.test(first.stderr) &&
            /next restore-db into this database puts it back first/.test(first.stderr) &&
            left.length === 1 &&
            rerun.exitCode === 0 &&
            putBackFirst &&
            final === 'as the backup',
          dataLost: final === 'HALF-RESTORED',
        };
      } finally {
        if (again !== undefined) {
          again.server.kill('SIGINT');
          await again.server;
        }
        await server.stop();
      }
    },
  },
  {
    name: 'disk full during a backup (--out on a 2 MB tmpfs)',
    category: 'fault',
    expected: "DISK_FULL with the tool's own line and a hint; nothing left on that disk",
    timeoutMs: 180_000,
    async run(t) {
      const source = await t.database([FIXTURE]);
      await withPg(source.url, (c) => c.query(BULK));
      const disk = await t.dir();
      const run = await onSmallDisk(t, '2m', disk, ['backup-db', '--target', 'staging', '--out', disk], { DATABASE_URL_STAGING: source.url });
      return {
        observed: `exit ${run.exitCode}; "${firstLine(run.stderr).slice(0, 200)}"; left on the disk: ${run.left === '' ? 'nothing' : run.left}`,
        held: run.exitCode === 1 && /DISK_FULL/.test(run.stderr) && /No space left on device/.test(run.stderr) && run.left === '',
      };
    },
  },
  {
    name: 'disk full during a restore (the backups folder, where the safety snapshot goes, on a 2 MB tmpfs)',
    category: 'fault',
    expected: 'DISK_FULL before anything is changed; the target exactly as it was; no snapshot, marker or unfinished folder left',
    timeoutMs: 180_000,
    async run(t) {
      const source = await t.database([FIXTURE]);
      const backup = await backupInto(source.url, await t.dir());
      const target = await t.database([FIXTURE]);
      await withPg(target.url, (c) => c.query(BULK));
      const before = await fingerprint(target.url);
      const disk = await t.dir();
      const run = await onSmallDisk(t, '2m', disk, ['restore-db', backup.backupDir, '--target', 'dev', '--yes'], {
        DATABASE_URL_DEV: target.url,
        DBOPS_BACKUP_DIR: disk,
      });
      const unchanged = JSON.stringify(await fingerprint(target.url)) === JSON.stringify(before);
      return {
        observed: `exit ${run.exitCode}; "${firstLine(run.stderr).slice(0, 200)}"; target ${unchanged ? 'unchanged' : 'CHANGED'}; left in the backups folder: ${run.left === '' ? 'nothing' : run.left}`,
        held: run.exitCode === 1 && /DISK_FULL/.test(run.stderr) && unchanged && run.left === '',
        dataLost: !unchanged,
      };
    },
  },
  {
    name: 'disk full on the server during a restore (the target database in a tablespace on a 24 MB tmpfs)',
    category: 'fault',
    expected: 'the restore fails naming "No space left on device" and the target is put back exactly as it was from the pre-restore snapshot; no marker left',
    timeoutMs: 300_000,
    async run(t) {
      const unshare = process.getuid?.() === 0 ? ['-m'] : ['-Urm'];
      const helper = execa(
        'unshare',
        [...unshare, process.execPath, path.join(PROJECT_ROOT, 'test/faults/small-disk-server.mjs'), path.join(PROJECT_ROOT, 'dist'), '24'],
        {
          stdin: 'pipe',
          stdout: 'pipe',
          stderr: 'pipe',
          reject: false,
          env: { ...process.env, FAULT_SERVER_PASSWORD: t.secret },
        },
      );
      try {
        const line = await new Promise<string>((resolve, reject) => {
          createInterface({ input: helper.stdout! }).once('line', resolve);
          void helper.then((r) =>
            reject(
              new Error(
                `the small-disk server did not start: ${
                  String(r.stderr)
                    .split('\n')
                    .find((l) => /error/i.test(l)) ?? r.exitCode
                }`,
              ),
            ),
          );
        });
        const urls = JSON.parse(line) as { sourceUrl: string; targetUrl: string };
        await withPg(urls.sourceUrl, async (c) => {
          await c.query(BULK);
          await c.query(SETTINGS('theme'));
        });
        await withPg(urls.targetUrl, (c) => c.query(SETTINGS('only-in-target')));
        const backup = await backupInto(urls.sourceUrl, t.backupsDir);
        const before = await fingerprint(urls.targetUrl);
        const run = await t.cli(['restore-db', backup.backupDir, '--target', 'dev', '--yes'], { env: { DATABASE_URL_DEV: urls.targetUrl } });
        const after = await fingerprint(urls.targetUrl);
        const unchanged = JSON.stringify(after) === JSON.stringify(before);
        const left = await markers(t.backupsDir);
        return {
          observed: `exit ${run.exitCode}; "${firstLine(run.stderr).slice(0, 220)}"; target ${unchanged ? 'as before' : sameRows(after, before) ? 'rows as before, schema CHANGED' : 'CHANGED'}; ${left.length} marker(s)`,
          held:
            run.exitCode === 1 &&
            /No space left on device/.test(run.stderr) &&
            /put back from the pre-restore snapshot/.test(run.stderr) &&
            unchanged &&
            left.length === 0,
          dataLost: !unchanged,
        };
      } finally {
        helper.stdin?.end();
        await helper;
      }
    },
  },
];

defineFaults('server', cases);
