import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { diffImages, imageOf } from '../support/database-image.js';
import { childrenNow, defineFaults, waitQuickly, type FaultCase } from './harness.js';
import { firstLine, markers, parseJson, PHASES, preRestoreSnapshots, restoreSetup, restoreUntil, signal, targetState, waitGone } from './restore-support.js';

// A restore that is stopped must end with the target as it was (or as the backup), never in
// between: Ctrl-C of pg_restore at each phase, Ctrl-C pressed again while the target is put back,
// and dbops killed outright (the next restore finishes putting the target back).

interface RestoreJson {
  ok?: boolean;
  notes?: string[];
  safetyBackupDir?: string | null;
  error?: { code: string; message: string };
}

/** A case: SIGINT to the pg_restore of one phase; the restore must fail naming it and put the target back. */
function ctrlCOfPgRestore(phase: keyof typeof PHASES, setupOptions: Parameters<typeof restoreSetup>[1] = {}): FaultCase {
  return {
    name: `Ctrl-C (SIGINT) of pg_restore in its ${phase} phase`,
    category: 'fault',
    expected: 'RESTORE_FAILED naming pg_restore; the target put back exactly as it was',
    timeoutMs: 300_000,
    async run(t) {
      const setup = await restoreSetup(t, setupOptions);
      const { child, found } = await restoreUntil(t, setup.backup.backupDir, setup.target.url, PHASES[phase]);
      if (!found) return { observed: `the ${phase} pg_restore was never seen (exit ${(await t.finish(child)).exitCode})`, held: false };
      const hit = signal(found.pid, 'SIGINT');
      const run = await t.finish(child);
      const state = await targetState(setup);
      return {
        observed: `${hit ? 'SIGINT sent' : 'pg_restore had ended'}; exit ${run.exitCode}; "${firstLine(run.stderr).slice(0, 140)}"; target ${state}; markers left ${(await markers(t.backupsDir)).length}`,
        held:
          hit &&
          run.exitCode === 1 &&
          /RESTORE_FAILED/.test(run.stderr) &&
          /pg_restore/.test(run.stderr) &&
          state === 'as before' &&
          (await markers(t.backupsDir)).length === 0,
        dataLost: state === 'HALF-RESTORED',
        detail: run.stderr,
      };
    },
  };
}

/** Children of dbops that work on the pre-restore snapshot: the rollback has begun. */
const rollingBack = (command: string) => /pre-restore/.test(command) || /ON_ERROR_STOP=0/.test(command);

const cases: FaultCase[] = [
  ctrlCOfPgRestore('pre-data', { tables: 1500 }),
  ctrlCOfPgRestore('data'),
  ctrlCOfPgRestore('post-data', { policies: 1500 }),
  {
    name: 'Ctrl-C at the terminal, then twice more while the target is put back',
    category: 'fault',
    expected: 'the rollback goes on to the end (stderr: "putting the target back; Ctrl-C again will not stop this"); target exactly as before; exit 1',
    timeoutMs: 300_000,
    async run(t) {
      const setup = await restoreSetup(t, { targetRows: 300_000 });
      // In a process group of its own: a signal to the group is what Ctrl-C at a terminal sends,
      // to dbops and to every tool it runs in the foreground.
      const { child, found } = await restoreUntil(t, setup.backup.backupDir, setup.target.url, PHASES.data, { detached: true });
      if (!found) return { observed: `pg_restore never loaded data (exit ${(await t.finish(child)).exitCode})`, held: false };
      process.kill(-child.pid!, 'SIGINT');
      const rollback = await waitQuickly(
        async () => (child.exitCode !== null ? null : (await childrenNow(child.pid!)).find((p) => rollingBack(p.command))),
        60_000,
      );
      let pressed = 0;
      if (rollback) {
        for (let i = 0; i < 2; i++) {
          if (signal(-child.pid!, 'SIGINT')) pressed++;
          await new Promise((r) => setTimeout(r, 150));
        }
      }
      const run = await t.finish(child);
      const state = await targetState(setup);
      const told = /putting the target back; Ctrl-C again will not stop this/.test(run.stderr);
      return {
        observed: `rollback ${rollback ? 'seen' : 'NOT seen'}; ${pressed} more Ctrl-C during it; exit ${run.exitCode ?? run.signal}; ${told ? 'told it goes on' : 'NOT told'}; "${firstLine(run.stderr).slice(0, 120)}"; target ${state}`,
        held: rollback !== null && rollback !== undefined && pressed === 2 && run.exitCode === 1 && told && state === 'as before',
        dataLost: state === 'HALF-RESTORED',
        detail: run.stderr,
      };
    },
  },
  {
    name: 'kill -9 of dbops while it puts the target back; the next restore finishes it',
    category: 'fault',
    expected:
      'a marker stays in the backups directory; the next restore-db into the target puts it back first (says so), then restores and verifies; marker removed',
    timeoutMs: 300_000,
    async run(t) {
      const setup = await restoreSetup(t, { targetRows: 300_000 });
      const { child, found } = await restoreUntil(t, setup.backup.backupDir, setup.target.url, PHASES.data);
      if (!found) return { observed: `pg_restore never loaded data (exit ${(await t.finish(child)).exitCode})`, held: false };
      child.kill('SIGINT');
      const rollback = await waitQuickly(
        async () => (child.exitCode !== null ? null : (await childrenNow(child.pid!)).find((p) => rollingBack(p.command))),
        60_000,
      );
      child.kill('SIGKILL');
      await t.finish(child);
      // The rollback's tool outlives dbops; the state that matters is the one it leaves.
      if (rollback) await waitGone(rollback.pid, 120_000);
      const left = await markers(t.backupsDir);
      const snapshotBefore = (await preRestoreSnapshots(t.backupsDir))[0];
      const rerun = await t.cli(['restore-db', setup.backup.backupDir, '--target', 'dev', '--yes', '--json'], { env: { DATABASE_URL_DEV: setup.target.url } });
      const result = parseJson<RestoreJson>(rerun.stdout) ?? {};
      const said = (result.notes ?? []).some((n) => /stopped while it was putting the target back/.test(n));
      // The rerun's own safety snapshot was taken after the target was put back: it must hold what the first one did.
      const sameSnapshot = snapshotBefore && result.safetyBackupDir ? await sameCounts(snapshotBefore.dir, result.safetyBackupDir) : false;
      const state = await targetState(setup);
      return {
        observed: `rollback ${rollback ? 'seen' : 'NOT seen'} and killed; markers left ${left.length}; rerun exit ${rerun.exitCode}${result.error ? ` (${result.error.code})` : ''}, ${said ? 'said it finished the rollback first' : 'did NOT say so'}; its snapshot ${sameSnapshot ? 'equals' : 'DIFFERS from'} the first; target ${state}; markers now ${(await markers(t.backupsDir)).length}`,
        held:
          Boolean(rollback) &&
          left.length === 1 &&
          rerun.exitCode === 0 &&
          said &&
          sameSnapshot &&
          state === 'as the backup' &&
          (await markers(t.backupsDir)).length === 0,
        dataLost: state === 'HALF-RESTORED',
      };
    },
  },
  {
    name: 'kill -9 of dbops mid-restore; the next restore puts the target back first',
    category: 'fault',
    expected:
      'the next restore-db finds the marker and puts the target back from its pre-restore snapshot before anything else: restoring that snapshot leaves the target equal to its pre-restore image',
    timeoutMs: 300_000,
    async run(t) {
      const setup = await restoreSetup(t);
      const imageBefore = await imageOf(setup.target.url);
      const { child, found } = await restoreUntil(t, setup.backup.backupDir, setup.target.url, PHASES.data);
      if (!found) return { observed: `pg_restore never loaded data (exit ${(await t.finish(child)).exitCode})`, held: false };
      child.kill('SIGKILL');
      await t.finish(child);
      await waitGone(found.pid, 120_000);
      const left = await markers(t.backupsDir);
      const halfState = await targetState(setup);
      const snapshot = (await preRestoreSnapshots(t.backupsDir))[0];
      if (!snapshot) return { observed: 'no pre-restore snapshot was left', held: false, dataLost: halfState !== 'as before' };
      // Restoring the snapshot itself: the marker's rollback runs first, then this restore.
      const rerun = await t.cli(['restore-db', snapshot.dir, '--target', 'dev', '--yes', '--no-safety-backup', '--json'], {
        env: { DATABASE_URL_DEV: setup.target.url },
      });
      const result = parseJson<RestoreJson>(rerun.stdout) ?? {};
      const said = (result.notes ?? []).some((n) => n.includes('was stopped part-way') && n.includes(path.basename(snapshot.dir)));
      const diff = diffImages(imageBefore, await imageOf(setup.target.url));
      return {
        observed: `after kill: ${halfState}, markers ${left.length}; rerun exit ${rerun.exitCode}${result.error ? ` (${result.error.code}: ${result.error.message.slice(0, 100)})` : ''}, ${said ? 'said it put the target back first' : 'did NOT say so'}; image ${diff.length === 0 ? 'equal to before' : `DIFFERS: ${diff.slice(0, 2).join('; ').slice(0, 200)}`}`,
        held: left.length === 1 && rerun.exitCode === 0 && said && diff.length === 0 && (await markers(t.backupsDir)).length === 0,
        dataLost: diff.length > 0,
      };
    },
  },
];

/** Two backups of the same database state: equal row counts and content hashes. */
async function sameCounts(a: string, b: string): Promise<boolean> {
  const read = async (dir: string) =>
    [
      await readFile(path.join(dir, 'row_counts.json'), 'utf8').catch(() => 'none'),
      await readFile(path.join(dir, 'content_hashes.json'), 'utf8').catch(() => 'none'),
    ].join('\n');
  return (await read(a)) === (await read(b));
}

defineFaults('rollback', cases);
