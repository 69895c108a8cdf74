import type pg from 'pg';
import { formatWait } from '../connection-locks.js';
import { withApplicationName, type ConnectionSpec } from '../connection.js';
import { DbopsError, toDbopsError } from '../errors.js';
import { connect } from './client.js';
import { describeSessions, formatSessions, lockHolders, type HolderScope, type LockSession } from './lock-sessions.js';

// A restore's locks, each with a time limit, whoever takes them. pg_restore and pg_dump set
// lock_timeout = 0 in every session they open, so the limit cannot be handed to them; instead
// every session of the restore carries the run's application_name, and a watch on a connection
// of its own looks twice a second for one of them waiting on a lock that another session holds.
// Past the limit it cancels that statement (pg_cancel_backend: the tool fails at once) and keeps
// who held the lock, so the failure is reported as RESTORE_BLOCKED naming them.

const POLL_MS = 500;

export interface LockWatch {
  /** The error to report for a failure: RESTORE_BLOCKED naming the sessions in the way, when the watch stopped a wait. */
  explain(error: unknown, what?: string): DbopsError;
  /** Forget what was caught so far (a rollback's failures are explained on their own). */
  reset(): void;
  stop(): Promise<void>;
}

interface Caught {
  waitedMs: number;
  blockers: LockSession[];
}

export async function watchLocks(spec: ConnectionSpec, application: string, timeoutMs: number): Promise<LockWatch> {
  const client = await connect(withApplicationName(spec, 'dbops lock watch'));
  const waitStart =
    (await client.query<{ v: number }>(`SELECT current_setting('server_version_num')::int AS v`)).rows[0]!.v >= 140000 ? 'l.waitstart' : 'NULL::timestamptz';
  let caught: Caught | undefined;
  let stopped = false;
  let polling: Promise<void> = Promise.resolve();

  const poll = async () => {
    const { rows } = await client.query<{ pid: number; waited: string; blockers: number[] }>(
      `SELECT w.pid, (extract(epoch FROM now() - coalesce(${waitStart}, w.query_start)) * 1000)::bigint::text AS waited,
              ARRAY(SELECT b FROM unnest(pg_blocking_pids(w.pid)) b
                     WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity o WHERE o.pid = b AND o.application_name LIKE $1 || '%')) AS blockers
         FROM pg_stat_activity w JOIN pg_locks l ON l.pid = w.pid AND NOT l.granted
        WHERE w.application_name LIKE $1 || '%' AND w.datname = current_database()`,
      [application],
    );
    // Waits among the run's own sessions (pg_restore's workers) are its own business.
    for (const row of rows.filter((r) => Number(r.waited) >= timeoutMs && r.blockers.length > 0)) {
      const blockers = await describeSessions(client, row.blockers);
      caught ??= { waitedMs: Number(row.waited), blockers };
      await client.query('SELECT pg_cancel_backend($1)', [row.pid]);
    }
  };
  const timer = setInterval(() => {
    polling = polling.then(() => (stopped ? undefined : poll())).catch(() => undefined);
  }, POLL_MS);
  timer.unref();

  return {
    explain(error, what = 'The restore') {
      const e = toDbopsError(error);
      if (e.code === 'RESTORE_BLOCKED') return e;
      // pg_dump's own --lock-wait-timeout (the safety snapshot) may run out before the watch looks.
      if (caught === undefined)
        return e.code === 'LOCK_TIMEOUT' ? new DbopsError('RESTORE_BLOCKED', `${what} stopped: ${e.message}`, { cause: error, details: [...e.details] }) : e;
      return new DbopsError(
        'RESTORE_BLOCKED',
        `${what} waited ${formatWait(caught.waitedMs)} for a lock held by another session, and stopped: ${formatSessions(caught.blockers)}.`,
        {
          cause: error,
          details: [...e.details],
        },
      );
    },
    reset() {
      caught = undefined;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await polling;
      await client.end().catch(() => undefined);
    },
  };
}

/**
 * Before a restore changes anything: waits (up to the limit) for the sessions holding locks on
 * what it will replace, when their transaction began before this call — an app's short
 * transactions come and go, a forgotten open one stays. Still there at the limit: RESTORE_BLOCKED,
 * and nothing was changed.
 */
export async function waitForLockHolders(
  client: pg.Client,
  scope: Omit<HolderScope, 'startedBefore'>,
  timeoutMs: number,
  onWaiting?: (sessions: LockSession[]) => void,
): Promise<void> {
  const started = new Date((await client.query<{ now: Date }>('SELECT now() AS now')).rows[0]!.now);
  const until = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    const pids = await lockHolders(client, { ...scope, startedBefore: started });
    if (pids.length === 0) return;
    if (Date.now() >= until) {
      const sessions = await describeSessions(client, pids);
      throw new DbopsError(
        'RESTORE_BLOCKED',
        `The restore would wait for locks held by ${pids.length === 1 ? 'another session' : `${pids.length} other sessions`} for more than ${formatWait(timeoutMs)}; nothing was changed: ${formatSessions(sessions)}.`,
      );
    }
    if (!told && onWaiting) {
      told = true;
      onWaiting(await describeSessions(client, pids));
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Ends what is left of a run's sessions (a pg_restore that outlived a killed dbops, or the server
 * side of an interrupted one still finishing its statement): they hold the locks a rollback needs,
 * and one still running can deadlock with it. Waits until they are gone (at most `waitMs`).
 */
export async function endSessionsOf(client: pg.Client, application: string, waitMs = 30_000): Promise<number> {
  // Only a run's own name (from a marker on disk, too): never a pattern that matches other sessions.
  if (!/^dbops restore [0-9a-f]{8}$/.test(application)) return 0;
  const { rows } = await client.query<{ ended: boolean }>(
    `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
      WHERE application_name LIKE $1 || '%' AND datname = current_database() AND pid <> pg_backend_pid()`,
    [application],
  );
  const until = Date.now() + waitMs;
  while (rows.length > 0 && Date.now() < until) {
    const left = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE application_name LIKE $1 || '%' AND datname = current_database() AND pid <> pg_backend_pid()`,
      [application],
    );
    if (left.rows[0]!.n === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return rows.filter((r) => r.ended).length;
}
