import type pg from 'pg';
import { DbopsError } from './errors.js';

// How long dbops waits for a lock another session holds. Without a limit a backup or a restore
// waits behind one forgotten open transaction forever, with no output. With one, it stops after
// DBOPS_LOCK_TIMEOUT (default 30 s) and names the sessions in its way.
//
// Where the limit is applied, and why not one way for all: pg_dump and pg_restore both begin
// every session with `SET lock_timeout = 0`, so a lock_timeout handed in through PGOPTIONS would
// be undone by the tools it is meant for (and connection poolers refuse it as a startup
// parameter: "unsupported startup parameter in options: lock_timeout"). So:
//   - dbops's own connections: SET lock_timeout after connecting (works through any pooler), a
//     few seconds past the limit: the others fire first and say more;
//   - pg_dump: --lock-wait-timeout (its own option for the locks it takes on every table);
//   - a restore: every session it opens carries one application_name, and a watch (lock-watch.ts)
//     cancels the one that waits on another session's lock longer than the limit.

export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;

const UNITS: Record<string, number> = { ms: 1, s: 1000, min: 60_000 };

/** DBOPS_LOCK_TIMEOUT: "30" (seconds), "30s", "500ms" or "2min"; at least 100 ms, at most a day. */
export function lockTimeoutFromEnv(env: NodeJS.ProcessEnv): number {
  const text = env.DBOPS_LOCK_TIMEOUT?.trim();
  if (text === undefined || text === '') return DEFAULT_LOCK_TIMEOUT_MS;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|min)?$/.exec(text);
  const ms = match ? Math.round(Number(match[1]) * UNITS[match[2] ?? 's']!) : Number.NaN;
  if (!Number.isFinite(ms) || ms < 100 || ms > 86_400_000) {
    throw new DbopsError(
      'OPTION_INVALID',
      `DBOPS_LOCK_TIMEOUT must be a duration between 100ms and 24h, like 30s, 500ms or 2min (got "${text.slice(0, 20)}").`,
    );
  }
  return ms;
}

export function formatWait(ms: number): string {
  return ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${Math.round(ms / 100) / 10} s` : `${Math.round(ms / 60_000)} min`;
}

/**
 * For dbops's own sessions: a statement waiting on a lock fails (SQLSTATE 55P03) a little after the
 * limit. A little after, because the tools' limits (pg_dump's, the restore's watch) say which
 * table and which session; this one is the backstop, and must not be the first to fire.
 */
export async function applyLockTimeout(client: pg.Client, lockTimeoutMs: number | undefined): Promise<void> {
  await client.query(`SET lock_timeout = ${Math.round((lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS) + BACKSTOP_MS)}`);
}

const BACKSTOP_MS = 5000;

/** pg_dump's own limit on the locks it takes on every table it dumps. */
export function lockWaitTimeoutArg(lockTimeoutMs: number | undefined): string {
  return `--lock-wait-timeout=${Math.round(lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS)}ms`;
}
