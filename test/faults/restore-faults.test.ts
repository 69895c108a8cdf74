import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { parseConnectionUrl } from '../../src/engine/connection.js';
import { runTool } from '../../src/engine/tools/pg-tools.js';
import { FIXTURE } from '../support/databases.js';
import { fingerprint } from '../support/fingerprint.js';
import { defineFaults, type FaultCase, type FaultRun } from './harness.js';
import { firstLine, PHASES, preRestoreSnapshots, restoreSetup, restoreUntil, same, sameRows, signal, stateOf, waitGone } from './restore-support.js';

// Faults while a restore runs: dbops killed or interrupted with pg_restore loading data,
// pg_restore killed, two restores into one database, a backup with nothing to verify against.

/** The pnpm script's prod_<time>/ layout: plain SQL and nothing to verify against (no row counts, no checksums). */
async function writeProdSql(sourceUrl: string, backupsDir: string, at: string): Promise<{ dir: string }> {
  const dir = path.join(backupsDir, `prod_${at}`);
  await mkdir(dir, { recursive: true });
  await runTool('pg_dump', ['--no-owner', '--file', path.join(dir, 'backup.sql')], { connection: parseConnectionUrl(sourceUrl, 'fault source') });
  return { dir };
}

/** Starts the restore and returns once pg_restore loads data. */
const restoreUntilData = (t: FaultRun, backupDir: string, targetUrl: string) =>
  restoreUntil(t, backupDir, targetUrl, PHASES.data).then(({ child, found }) => ({ child, loader: found }));

const cases: FaultCase[] = [
  {
    name: 'kill -9 of dbops during restore (pg_restore loading data)',
    category: 'fault',
    expected: 'the target ends as it was or as the backup, never in between (or the next run finishes it); the pre-restore snapshot is kept',
    owner: 'lead (src/engine/restore/*)',
    timeoutMs: 240_000,
    async run(t) {
      const { backup, target, before, expected } = await restoreSetup(t);
      const { child, loader } = await restoreUntilData(t, backup.backupDir, target.url);
      if (!loader) return { observed: `pg_restore was never seen loading data (exit ${(await t.finish(child)).exitCode})`, held: false };
      child.kill('SIGKILL');
      await t.finish(child);
      // pg_restore outlives its parent: the state that matters is the one it leaves.
      await waitGone(loader.pid, 90_000);
      const after = stateOf(await fingerprint(target.url), before, expected);
      const snapshots = await preRestoreSnapshots(t.backupsDir);
      const rerun =
        after === 'HALF-RESTORED'
          ? await t.cli(['restore-db', backup.backupDir, '--target', 'dev', '--yes', '--no-safety-backup'], { env: { DATABASE_URL_DEV: target.url } })
          : undefined;
      const final = rerun ? stateOf(await fingerprint(target.url), before, expected) : after;
      return {
        observed: `after kill: ${after}${rerun ? `; next run exit ${rerun.exitCode}, target ${final}` : ''}; valid pre-restore snapshots ${snapshots.length}`,
        held: after !== 'HALF-RESTORED' || (rerun?.exitCode === 0 && final === 'as the backup'),
        dataLost: after !== 'as before' && snapshots.length === 0,
      };
    },
  },
  {
    name: 'SIGINT (Ctrl-C) of dbops during restore (pg_restore loading data)',
    category: 'fault',
    expected: 'pg_restore stopped, the target put back from the safety snapshot exactly as it was; exit non-zero saying so',
    owner: 'lead (src/engine/restore/*)',
    timeoutMs: 240_000,
    async run(t) {
      const { backup, target, before, expected } = await restoreSetup(t);
      const { child, loader } = await restoreUntilData(t, backup.backupDir, target.url);
      if (!loader) return { observed: `pg_restore was never seen loading data (exit ${(await t.finish(child)).exitCode})`, held: false };
      child.kill('SIGINT');
      const run = await t.finish(child);
      const stopped = await waitGone(loader.pid, 10_000);
      const state = stateOf(await fingerprint(target.url), before, expected);
      return {
        observed: `exit ${run.exitCode}; "${firstLine(run.stderr)}"; pg_restore ${stopped ? 'stopped' : 'STILL RUNNING'}; target ${state}`,
        held: run.exitCode !== 0 && stopped && state === 'as before',
        dataLost: state === 'HALF-RESTORED',
      };
    },
  },
  {
    name: 'pg_restore killed mid-way (kill -9 of the child)',
    category: 'fault',
    expected: 'RESTORE_FAILED naming pg_restore and the signal; the target put back exactly as it was',
    owner: 'lead (src/engine/restore/*)',
    timeoutMs: 240_000,
    async run(t) {
      const { backup, target, before, expected } = await restoreSetup(t);
      const { child, loader } = await restoreUntilData(t, backup.backupDir, target.url);
      if (!loader) return { observed: `pg_restore was never seen loading data (exit ${(await t.finish(child)).exitCode})`, held: false };
      if (!signal(loader.pid, 'SIGKILL'))
        return { observed: `pg_restore ended before it could be killed (exit ${(await t.finish(child)).exitCode})`, held: false };
      const run = await t.finish(child);
      const state = stateOf(await fingerprint(target.url), before, expected);
      const line = firstLine(run.stderr);
      return {
        observed: `exit ${run.exitCode}; "${line}"; target ${state}`,
        held: run.exitCode === 1 && /pg_restore/.test(run.stderr) && state === 'as before',
        dataLost: state === 'HALF-RESTORED',
      };
    },
  },
  {
    name: 'two restores at once into the same database',
    category: 'fault',
    expected: 'one restores and verifies; the other refuses at once (RESTORE_LOCKED) and touches nothing',
    owner: 'lead (src/engine/restore/*)',
    timeoutMs: 240_000,
    async run(t) {
      const { backup, target, expected } = await restoreSetup(t);
      const env = { DATABASE_URL_DEV: target.url };
      const args = ['restore-db', backup.backupDir, '--target', 'dev', '--yes'];
      const [a, b] = await Promise.all([t.cli(args, { env }), t.cli(args, { env })]);
      const ok = [a, b].filter((r) => r.exitCode === 0).length;
      const locked = [a, b].filter((r) => /RESTORE_LOCKED/.test(r.stderr)).length;
      const now = await fingerprint(target.url);
      return {
        observed: `${ok} succeeded, ${locked} refused as locked (${[a, b].map((r) => r.exitCode).join(', ')}); target ${sameRows(now, expected) ? 'as the backup' : 'NOT as the backup'}`,
        held: ok === 1 && locked === 1 && sameRows(now, expected),
        dataLost: !sameRows(now, expected),
      };
    },
  },
  {
    name: 'restore of a backup that recorded no row counts (pnpm prod_… layout, named)',
    category: 'hostile input',
    expected: 'restores when named, and says "not verified: the backup recorded no row counts" — never "verified"',
    timeoutMs: 180_000,
    async run(t) {
      const source = await t.database([FIXTURE]);
      const old = await writeProdSql(source.url, t.backupsDir, '2025-01-02T03-04-05');
      const target = await t.database();
      const run = await t.cli(['restore-db', old.dir, '--target', 'dev', '--yes'], { env: { DATABASE_URL_DEV: target.url } });
      // Plain SQL restores into an empty database only: a second, fresh one for --json.
      const second = await t.database();
      const json = await t.cli(['restore-db', old.dir, '--target', 'dev', '--yes', '--json'], { env: { DATABASE_URL_DEV: second.url } });
      const parsed = (() => {
        try {
          return JSON.parse(json.stdout) as { verified?: boolean };
        } catch {
          return {};
        }
      })();
      const head = run.stdout.split('\n')[0] ?? '';
      return {
        observed: `exit ${run.exitCode}; "${head.slice(0, 120)}"; --json exit ${json.exitCode}, verified=${String(parsed.verified)}${parsed.verified === undefined ? ` (${firstLine(json.stderr || json.stdout)})` : ''}`,
        held: run.exitCode === 0 && /not verified: the backup recorded no row counts/.test(head) && !/✅/.test(head) && parsed.verified === false,
      };
    },
  },
  {
    name: '"latest" with only old layouts and a folder dated in the future',
    category: 'hostile input',
    expected: 'nothing is restored: NO_BACKUPS naming each folder passed over and why; the target untouched',
    timeoutMs: 180_000,
    async run(t) {
      const source = await t.database([FIXTURE]);
      await writeProdSql(source.url, t.backupsDir, '2030-01-01T00-00-00');
      const target = await t.database([FIXTURE]);
      const before = await fingerprint(target.url);
      const run = await t.cli(['restore-db', '--target', 'dev', '--yes'], { env: { DATABASE_URL_DEV: target.url } });
      const untouched = same(await fingerprint(target.url), before);
      const folders = await readdir(t.backupsDir);
      return {
        observed: `exit ${run.exitCode}; "${firstLine(run.stderr)}"; target ${untouched ? 'untouched' : 'CHANGED'}; ${folders.length} folder(s)`,
        held: run.exitCode !== 0 && /NO_BACKUPS/.test(run.stderr) && /prod_2030/.test(run.stderr) && untouched,
        dataLost: !untouched,
      };
    },
  },
];

defineFaults('restore', cases);
