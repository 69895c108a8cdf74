import { readdir } from 'node:fs/promises';
import { FIXTURE, withPg } from '../support/databases.js';
import { fingerprint } from '../support/fingerprint.js';
import { childrenNow, defineFaults, waitQuickly, type FaultCase } from './harness.js';
import { firstLine, markers, openLocker, PHASES, preRestoreSnapshots, restoreSetup, restoreUntil, targetState } from './restore-support.js';

// Lock contention: a session that holds a lock the restore or the backup needs. Nothing may hang:
// after DBOPS_LOCK_TIMEOUT (here 3 s) the run stops, names the session in its way (pid, user,
// application, state, how long, its query), and leaves the target as it was.

const LIMIT = { DBOPS_LOCK_TIMEOUT: '3s' };

/** The session is named the way a person finds it: pid, application, state, what it ran. */
function namesLocker(stderr: string, locker: { pid: number }, state: RegExp, query: RegExp): boolean {
  return stderr.includes(`pid ${locker.pid} (`) && stderr.includes('application "fault-locker"') && state.test(stderr) && query.test(stderr);
}

const cases: FaultCase[] = [
  {
    name: 'restore into a database where a forgotten transaction holds a table',
    category: 'fault',
    expected:
      'RESTORE_BLOCKED within seconds of the limit, naming the session (pid, user, application, idle in transaction, its query); nothing changed, no snapshot taken',
    timeoutMs: 240_000,
    async run(t) {
      const setup = await restoreSetup(t);
      const locker = await openLocker(setup.target.url, 'SELECT count(*) FROM public.settings');
      try {
        const started = Date.now();
        const run = await t.cli(['restore-db', setup.backup.backupDir, '--target', 'dev', '--yes'], {
          env: { DATABASE_URL_DEV: setup.target.url, ...LIMIT },
          timeoutMs: 120_000,
        });
        const seconds = (Date.now() - started) / 1000;
        const state = await targetState(setup);
        const snapshots = await preRestoreSnapshots(t.backupsDir);
        const named = namesLocker(run.stderr, locker, /idle in transaction for/, /query "SELECT count\(\*\) FROM public\.settings"/);
        return {
          observed: `exit ${run.exitCode} after ${seconds.toFixed(1)} s; "${firstLine(run.stderr).slice(0, 220)}"; ${named ? 'session named' : 'session NOT named'}; target ${state}; ${snapshots.length} snapshots`,
          held:
            run.exitCode === 1 &&
            /RESTORE_BLOCKED/.test(run.stderr) &&
            named &&
            /nothing was changed/.test(run.stderr) &&
            seconds < 60 &&
            state === 'as before' &&
            snapshots.length === 0,
          dataLost: state !== 'as before',
        };
      } finally {
        await locker.release();
      }
    },
  },
  {
    name: 'a session takes a lock on a table while the restore loads it',
    category: 'fault',
    expected:
      'the wait is stopped at the limit and the session named (RESTORE_BLOCKED, or ROLLBACK_FAILED when it also blocks the rollback); once it ends, the next restore puts the target back first and then restores; never half-restored for good',
    timeoutMs: 300_000,
    async run(t) {
      const setup = await restoreSetup(t);
      const { child, found } = await restoreUntil(t, setup.backup.backupDir, setup.target.url, PHASES.data, { env: LIMIT });
      if (!found) return { observed: `pg_restore never loaded data (exit ${(await t.finish(child)).exitCode})`, held: false };
      // public.bulk exists again (new) and is being loaded: ACCESS SHARE is granted at once, and
      // its primary key (post-data, ACCESS EXCLUSIVE) then waits on it.
      const locker = await openLocker(setup.target.url, 'LOCK TABLE public.bulk IN ACCESS SHARE MODE');
      let first;
      try {
        first = await t.finish(child);
      } finally {
        await locker.release();
      }
      const named = namesLocker(first.stderr, locker, /idle in transaction for/, /LOCK TABLE public\.bulk/);
      const afterFirst = await targetState(setup);
      const left = await markers(t.backupsDir);
      const rerun = await t.cli(['restore-db', setup.backup.backupDir, '--target', 'dev', '--yes'], { env: { DATABASE_URL_DEV: setup.target.url, ...LIMIT } });
      const final = await targetState(setup);
      const putBackFirst = left.length === 0 || /was first put back from its pre-restore snapshot/.test(rerun.stdout);
      return {
        observed: `first run exit ${first.exitCode}: "${firstLine(first.stderr).slice(0, 200)}"; ${named ? 'locker named' : 'locker NOT named'}; target ${afterFirst}, ${left.length} marker(s); rerun exit ${rerun.exitCode}${putBackFirst ? '' : ' WITHOUT putting back first'}; target ${final}`,
        held:
          first.exitCode === 1 &&
          /RESTORE_BLOCKED|ROLLBACK_FAILED/.test(first.stderr) &&
          named &&
          (afterFirst === 'as before' || left.length === 1) &&
          rerun.exitCode === 0 &&
          putBackFirst &&
          final === 'as the backup',
        dataLost: final === 'HALF-RESTORED',
      };
    },
  },
  {
    name: 'backup of a database where a session holds a table exclusively',
    category: 'fault',
    expected: 'LOCK_TIMEOUT within seconds of the limit naming the session and the table; no folder published or left; no session left open',
    timeoutMs: 180_000,
    async run(t) {
      const source = await t.database([FIXTURE]);
      const before = await fingerprint(source.url);
      const locker = await openLocker(source.url, 'LOCK TABLE public.settings IN ACCESS EXCLUSIVE MODE');
      let run;
      const started = Date.now();
      try {
        const child = t.start(['backup-db', '--target', 'staging'], { env: { DATABASE_URL_STAGING: source.url, ...LIMIT } });
        // pg_dump waits on the lock: what it is run with is part of what is grepped for the password.
        await waitQuickly(
          async () => (child.exitCode !== null ? null : (await childrenNow(child.pid!)).find((p) => /pg_dump/.test(p.command) && !/--version/.test(p.command))),
          30_000,
          50,
        );
        run = await t.finish(child);
      } finally {
        await locker.release();
      }
      const seconds = (Date.now() - started) / 1000;
      const left = await readdir(t.backupsDir);
      const open = await waitQuickly(
        async () => {
          const n = await withPg(t.adminUrl, async (c) =>
            Number(
              (await c.query<{ n: string }>('SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [source.name]))
                .rows[0]!.n,
            ),
          );
          return n === 0 ? 0 : undefined;
        },
        15_000,
        200,
      );
      const same = JSON.stringify(await fingerprint(source.url)) === JSON.stringify(before);
      const named = namesLocker(run.stderr, locker, /idle in transaction for/, /LOCK TABLE public\.settings/);
      return {
        observed: `exit ${run.exitCode} after ${seconds.toFixed(1)} s; "${firstLine(run.stderr).slice(0, 220)}"; ${named ? 'session named' : 'session NOT named'}; ${left.length} folder(s) left; sessions ${open === 0 ? 'none left' : 'LEFT OPEN'}`,
        held:
          run.exitCode === 1 &&
          /LOCK_TIMEOUT/.test(run.stderr) &&
          /public\.settings/.test(run.stderr) &&
          named &&
          seconds < 60 &&
          left.length === 0 &&
          open === 0 &&
          same,
      };
    },
  },
];

defineFaults('locks', cases);
