import { readdir } from 'node:fs/promises';
import type pg from 'pg';
import { listBackups } from '../../src/engine/lifecycle/list-backups.js';
import { backupInto, engineContext } from '../support/backups.js';
import { FIXTURE, withPg } from '../support/databases.js';
import { fingerprint, type Fingerprint } from '../support/fingerprint.js';
import { alive, childrenNow, processLines, waitQuickly, type FaultRun } from './harness.js';

// What the restore cases share: a backup big enough that pg_restore's phases can be caught, a
// target holding other data than it, and ways to say which state the target ended in.

export interface RestoreSetup {
  backup: { backupDir: string };
  target: { name: string; url: string };
  before: Fingerprint;
  expected: Fingerprint;
}

/**
 * A source with 600,000 rows in public.bulk (with a primary key, so post-data has work on it),
 * backed up; a target holding other data. targetRows: rows of a table only the target has, so
 * putting it back takes long enough to be caught too.
 */
export async function restoreSetup(t: FaultRun, options: { targetRows?: number; policies?: number; tables?: number } = {}): Promise<RestoreSetup> {
  const source = await t.database([FIXTURE]);
  await withPg(source.url, async (c) => {
    await c.query(
      `CREATE TABLE public.bulk AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 600000) g; ALTER TABLE public.bulk ADD PRIMARY KEY (id)`,
    );
    // Policies are restored one at a time after the parallel run: enough of them make that run last.
    if (options.policies) {
      await c.query(`ALTER TABLE public.bulk ENABLE ROW LEVEL SECURITY`);
      await c.query(
        `DO $$ BEGIN FOR i IN 1..${options.policies} LOOP EXECUTE format('CREATE POLICY p%s ON public.bulk USING (id > %s)', i, i); END LOOP; END $$`,
      );
    }
    // Tables are created by the pre-data run: enough of them make it last long enough to be caught
    // on a fast machine (a few hundred milliseconds otherwise).
    if (options.tables) {
      await c.query(
        `DO $$ BEGIN FOR i IN 1..${options.tables} LOOP EXECUTE format('CREATE TABLE public.pad_%s (id int PRIMARY KEY, note text DEFAULT %L)', i, 'pad'); END LOOP; END $$`,
      );
    }
  });
  const backup = await backupInto(source.url, t.backupsDir);
  const target = await t.database([FIXTURE]);
  // The target holds other data than the backup: "as before" and "as the backup" differ.
  await withPg(target.url, async (c) => {
    await c.query(`DELETE FROM public.settings; INSERT INTO public.settings VALUES ('only-in-target', 'x')`);
    if (options.targetRows)
      await c.query(
        `CREATE TABLE public.target_only AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, ${options.targetRows}) g; ALTER TABLE public.target_only ADD PRIMARY KEY (id)`,
      );
  });
  const before = await fingerprint(target.url);
  const expected = await fingerprint(source.url);
  // A table only the target has stays through a restore: the backup's rows plus that one.
  if (options.targetRows) expected.tables['public.target_only'] = before.tables['public.target_only']!;
  return { backup, target, before, expected };
}

/**
 * The pg_restore of a phase: pre-data, data (with post-data, in parallel), or the serial post-data
 * run (no --jobs: the CSV tables' own keys, also post-data alone, are built in parallel beside the data run).
 */
export const PHASES = {
  'pre-data': (c: string) => /pg_restore/.test(c) && /--section=pre-data/.test(c),
  data: (c: string) => /pg_restore/.test(c) && /--section=data/.test(c),
  'post-data': (c: string) => /pg_restore/.test(c) && /--section=post-data/.test(c) && !/--section=data/.test(c) && !/--jobs/.test(c),
} as const;

/** Starts the restore and returns once a child matching `phase` runs (undefined when it was never seen). */
export async function restoreUntil(
  t: FaultRun,
  backupDir: string,
  targetUrl: string,
  phase: (command: string) => boolean,
  options: { env?: Record<string, string>; detached?: boolean; args?: string[] } = {},
) {
  const child = t.start(['restore-db', backupDir, '--target', 'dev', '--yes', ...(options.args ?? [])], {
    env: { DATABASE_URL_DEV: targetUrl, ...options.env },
    detached: options.detached,
  });
  const found = await waitQuickly(async () => {
    if (child.exitCode !== null) return null;
    return (await childrenNow(child.pid!)).find((p) => phase(p.command));
  }, 120_000);
  t.record(await processLines());
  return { child, found: found ?? undefined };
}

export const same = (a: Fingerprint, b: Fingerprint) => JSON.stringify(a) === JSON.stringify(b);
const sorted = (tables: Fingerprint['tables']) => JSON.stringify(Object.entries(tables).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
export const sameRows = (a: Fingerprint, b: Fingerprint) => sorted(a.tables) === sorted(b.tables);

export function stateOf(now: Fingerprint, before: Fingerprint, expected: Fingerprint): 'as before' | 'as the backup' | 'HALF-RESTORED' {
  return same(now, before) ? 'as before' : sameRows(now, expected) ? 'as the backup' : 'HALF-RESTORED';
}

export async function targetState(s: RestoreSetup) {
  return stateOf(await fingerprint(s.target.url), s.before, s.expected);
}

export async function waitGone(pid: number, ms: number): Promise<boolean> {
  const gone = (await waitQuickly(async () => (alive(pid) ? undefined : true), ms, 50)) === true;
  if (!gone) process.kill(pid, 'SIGKILL');
  return gone;
}

/** kill(), but a process that ended meanwhile is not an error: says whether it was there. */
export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

export function firstLine(text: string): string {
  return (text.split('\n').find((l) => /error/i.test(l)) ?? text.split('\n').find((l) => l.trim() !== '') ?? '').trim().slice(0, 200);
}

export async function markers(backupsDir: string): Promise<string[]> {
  return (await readdir(backupsDir)).filter((f) => f.startsWith('.rollback-'));
}

export async function preRestoreSnapshots(backupsDir: string) {
  return (await listBackups({}, engineContext({ env: { DBOPS_BACKUP_DIR: backupsDir } }))).backups.filter(
    (b) => b.label === 'pre-restore' && b.status === 'valid',
  );
}

/** A session that holds a lock until released, named so a message can be checked for it. */
export async function openLocker(
  url: string,
  sql: string,
  application = 'fault-locker',
): Promise<{ client: pg.Client; pid: number; release(): Promise<void> }> {
  const { default: pgModule } = await import('pg');
  const client = new pgModule.Client({ connectionString: url, application_name: application });
  // A server stopped under it ends the session: that is an event, not a crash of the suite.
  client.on('error', () => undefined);
  await client.connect();
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  await client.query('BEGIN');
  await client.query(sql);
  return {
    client,
    pid,
    release: async () => {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

export function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
