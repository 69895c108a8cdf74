import { readdir } from 'node:fs/promises';
import type pg from 'pg';
import { listBackups } from '../../src/engine/lifecycle/list-backups.js';
import { engineContext } from '../support/backups.js';
import { FIXTURE, withPg } from '../support/databases.js';
import { fingerprint } from '../support/fingerprint.js';
import { alive, childProcesses, defineFaults, processLines, waitFor, type FaultCase, type FaultRun } from './harness.js';

// Faults while a backup runs: dbops killed or interrupted with pg_dump running, pg_dump killed,
// the events database away, two backups in the same second.

/** Starts `backup-db --target staging` while a lock holds pg_dump, and returns once pg_dump runs. */
async function backupHeldByLock(t: FaultRun) {
  const source = await t.database([FIXTURE]);
  const before = await fingerprint(source.url);
  const locker = await openLocker(source.url);
  const child = t.start(['backup-db', '--target', 'staging'], { env: { DATABASE_URL_STAGING: source.url } });
  // The dump itself (directory format), not pg_dumpall or a version check: those end on their own.
  const dump = await waitFor(
    async () => (await childProcesses(child.pid!)).find((p) => /(^|\/)pg_dump\s/.test(p.command) && /--format=directory/.test(p.command)),
    20_000,
  );
  t.record(await processLines());
  return { source, before, locker, child, dump };
}

async function openLocker(url: string): Promise<pg.Client> {
  const { default: pgModule } = await import('pg');
  const client = new pgModule.Client({ connectionString: url });
  await client.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE public.settings IN ACCESS EXCLUSIVE MODE');
  return client;
}

async function release(locker: pg.Client): Promise<void> {
  await locker.query('ROLLBACK').catch(() => undefined);
  await locker.end().catch(() => undefined);
}

/** Sessions other than ours still open on the database after a while: a snapshot left open. */
async function lingering(adminUrl: string, database: string): Promise<number> {
  const left = await waitFor(async () => {
    const n = await withPg(adminUrl, async (c) =>
      Number(
        (await c.query<{ n: string }>('SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database])).rows[0]!
          .n,
      ),
    );
    return n === 0 ? 0 : undefined;
  }, 15_000);
  return left ?? -1;
}

const published = async (dir: string) => (await readdir(dir)).filter((f) => !f.startsWith('.'));

const cases: FaultCase[] = [
  {
    name: 'kill -9 of dbops during backup (pg_dump running)',
    category: 'fault',
    expected: 'no backup published; the unfinished folder is listed as incomplete, never as a backup; source untouched; no session left open',
    async run(t) {
      const { source, before, locker, child, dump } = await backupHeldByLock(t);
      if (!dump) return { observed: 'pg_dump never started', held: false };
      child.kill('SIGKILL');
      await t.finish(child);
      await release(locker);
      // pg_dump outlives its parent; wait for it (it was started by this case), then end it.
      if (!(await waitFor(async () => (alive(dump.pid) ? undefined : true), 20_000))) process.kill(dump.pid, 'SIGKILL');
      const folders = await published(t.backupsDir);
      const listed = (await listBackups({}, engineContext({ env: { DBOPS_BACKUP_DIR: t.backupsDir } }))).backups;
      const open = await lingering(t.adminUrl, source.name);
      const same = JSON.stringify(await fingerprint(source.url)) === JSON.stringify(before);
      return {
        observed: `published ${folders.length}; listed ${listed.map((b) => b.status).join(',') || 'nothing'}; sessions left ${open === -1 ? 'after 15 s: yes' : 'none'}; source ${same ? 'unchanged' : 'CHANGED'}`,
        held: folders.length === 0 && listed.every((b) => b.status === 'incomplete') && open === 0 && same,
        dataLost: !same,
      };
    },
  },
  {
    name: 'SIGINT (Ctrl-C) of dbops during backup (pg_dump running)',
    category: 'fault',
    expected: 'exit non-zero saying interrupted; unfinished folder removed; pg_dump stopped; no session left open',
    async run(t) {
      const { source, locker, child, dump } = await backupHeldByLock(t);
      if (!dump) return { observed: 'pg_dump never started', held: false };
      child.kill('SIGINT');
      const run = await t.finish(child);
      await release(locker);
      const dumpGone = (await waitFor(async () => (alive(dump.pid) ? undefined : true), 10_000)) === true;
      if (!dumpGone) process.kill(dump.pid, 'SIGKILL');
      const left = await readdir(t.backupsDir);
      const open = await lingering(t.adminUrl, source.name);
      return {
        observed: `exit ${run.exitCode}; "${firstLine(run.stderr)}"; folders left ${left.length}; pg_dump ${dumpGone ? 'stopped' : 'STILL RUNNING'}; sessions left ${open === 0 ? 'none' : 'yes'}`,
        held: run.exitCode !== 0 && /interrupt/i.test(run.stderr) && left.length === 0 && dumpGone && open === 0,
      };
    },
  },
  {
    name: 'pg_dump killed mid-way (kill -9 of the child)',
    category: 'fault',
    expected: 'exit 1 with the first error naming pg_dump and the signal; unfinished folder removed',
    owner: 'tools/errors helper (src/engine/tools/pg-tools.ts, src/engine/errors.ts)',
    async run(t) {
      const { locker, child, dump } = await backupHeldByLock(t);
      if (!dump) return { observed: 'pg_dump never started', held: false };
      process.kill(dump.pid, 'SIGKILL');
      await release(locker);
      const run = await t.finish(child);
      const left = await readdir(t.backupsDir);
      const line = firstLine(run.stderr);
      return {
        observed: `exit ${run.exitCode}; "${line}"; folders left ${left.length}`,
        held: run.exitCode === 1 && /pg_dump/.test(line) && /kill|signal/i.test(line) && left.length === 0,
      };
    },
  },
  {
    name: 'events database down during a backup',
    category: 'fault',
    expected: 'the backup succeeds; invoked and completed are spooled to a file, without the password',
    async run(t) {
      const source = await t.database([FIXTURE]);
      const down = new URL(source.url);
      down.port = '1';
      const run = await t.cli(['backup-db', '--target', 'staging', '--json'], { env: { DATABASE_URL_STAGING: source.url, DBOPS_EVENTS_URL: down.toString() } });
      const spooled = (await readdir(t.spoolDir, { recursive: true })).length;
      const folders = await published(t.backupsDir);
      return {
        observed: `exit ${run.exitCode}; ${folders.length} backup; ${spooled} spool file(s)`,
        held: run.exitCode === 0 && folders.length === 1 && spooled > 0,
      };
    },
  },
  {
    name: 'two backups of one target in the same second',
    category: 'fault',
    expected: "both succeed into two different valid folders (the later one takes the next free second's name); none damaged, none refused",
    async run(t) {
      const source = await t.database([FIXTURE]);
      const env = { DATABASE_URL_STAGING: source.url };
      const [a, b] = await Promise.all([
        t.cli(['backup-db', '--target', 'staging', '--label', 'same'], { env }),
        t.cli(['backup-db', '--target', 'staging', '--label', 'same'], { env }),
      ]);
      const listed = (await listBackups({}, engineContext({ env: { DBOPS_BACKUP_DIR: t.backupsDir } }))).backups;
      const ok = [a, b].filter((r) => r.exitCode === 0).length;
      return {
        observed: `${ok} succeeded; listed ${listed.map((x) => `${x.folder.slice(0, 15)}:${x.status}`).join(', ')}${ok < 2 ? ` ("${firstLine([a, b].find((r) => r.exitCode !== 0)!.stderr)}")` : ''}`,
        held: ok === 2 && listed.length === 2 && listed.every((x) => x.status === 'valid') && new Set(listed.map((x) => x.folder)).size === 2,
        dataLost: ok < 2,
      };
    },
  },
];

function firstLine(text: string): string {
  return (text.split('\n').find((l) => /error|interrupt|SIG/i.test(l)) ?? text.split('\n').find((l) => l.trim() !== '') ?? '').trim().slice(0, 160);
}

defineFaults('backup', cases);
