import type pg from 'pg';
import { cutShort } from '../errors.js';
import { formatWait } from '../connection-locks.js';

// Who is in the way: the sessions holding locks that dbops waits for, described from
// pg_stat_activity the way a person finds and ends them (pid, user, application, state, for how
// long, what it last ran — cut short, it may be anything).

export interface LockSession {
  pid: number;
  user: string | null;
  application: string;
  state: string | null;
  /** How long its transaction (or, outside one, its state) has lasted. */
  forMs: number;
  query: string;
}

export async function describeSessions(client: pg.Client, pids: readonly number[]): Promise<LockSession[]> {
  if (pids.length === 0) return [];
  const { rows } = await client.query<{ pid: number; user: string | null; application: string; state: string | null; ms: string; query: string | null }>(
    `SELECT a.pid, a.usename::text AS user, coalesce(a.application_name, '') AS application, a.state,
            (extract(epoch FROM now() - coalesce(a.xact_start, a.state_change, a.backend_start)) * 1000)::bigint::text AS ms, a.query
       FROM pg_stat_activity a WHERE a.pid = ANY($1::int[]) ORDER BY a.pid`,
    [[...pids]],
  );
  return rows.map((r) => ({ pid: r.pid, user: r.user, application: r.application, state: r.state, forMs: Number(r.ms), query: r.query ?? '' }));
}

export function formatSession(s: LockSession): string {
  const parts = [
    `user ${s.user ?? 'unknown'}`,
    `application "${cutShort(s.application, 40)}"`,
    `${s.state ?? 'unknown state'} for ${formatWait(s.forMs)}`,
    ...(s.query.trim() === '' ? [] : [`query "${cutShort(s.query.trim().replace(/\s+/g, ' '), 100)}"`]),
  ];
  return `pid ${s.pid} (${parts.join(', ')})`;
}

export function formatSessions(sessions: readonly LockSession[]): string {
  if (sessions.length === 0) return 'a session that has ended since';
  const shown = sessions.slice(0, 5).map(formatSession).join('; ');
  return sessions.length > 5 ? `${shown}; and ${sessions.length - 5} more` : shown;
}

/** Client sessions other than ours holding a lock on this relation (by name as the server prints it). */
export async function holdersOf(client: pg.Client, relation: string, exceptApplication?: string): Promise<LockSession[]> {
  const { rows } = await client.query<{ pid: number }>(
    `SELECT DISTINCT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.granted AND l.locktype = 'relation' AND l.relation = to_regclass($1)
        AND l.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
        AND ($2::text IS NULL OR a.application_name NOT LIKE $2 || '%')`,
    [relation, exceptApplication ?? null],
  );
  return describeSessions(
    client,
    rows.map((r) => r.pid),
  );
}

export interface HolderScope {
  /** Only locks on relations in these schemas (undefined: every user schema). */
  schemas?: readonly string[] | undefined;
  /** Sessions whose application_name starts with this are ours. */
  exceptApplication?: string | undefined;
  /** Only transactions that began before this moment. */
  startedBefore?: Date | undefined;
}

/** Client sessions, other than ours, inside a transaction that holds locks on user tables of this database. */
export async function lockHolders(client: pg.Client, scope: HolderScope): Promise<number[]> {
  const { rows } = await client.query<{ pid: number }>(
    `SELECT DISTINCT l.pid FROM pg_locks l
       JOIN pg_stat_activity a ON a.pid = l.pid
       JOIN pg_class c ON c.oid = l.relation
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE l.granted AND l.locktype = 'relation'
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.pid <> pg_backend_pid() AND a.backend_type = 'client backend' AND a.xact_start IS NOT NULL
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
        AND ($1::text[] IS NULL OR n.nspname = ANY($1::text[]))
        AND ($2::text IS NULL OR a.application_name NOT LIKE $2 || '%')
        AND ($3::timestamptz IS NULL OR a.xact_start < $3::timestamptz)
      ORDER BY l.pid`,
    [scope.schemas === undefined ? null : [...scope.schemas], scope.exceptApplication ?? null, scope.startedBefore ?? null],
  );
  return rows.map((r) => r.pid);
}
