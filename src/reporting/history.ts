import type { z } from 'zod';
import type { ConnectionSpec } from '../engine/connection.js';
import { query, withClient } from '../engine/pg/client.js';

// Runs from code_ops.artifact_runs, newest first, with the filters of `dbops history`.

export { historyOptionsSchema } from './history-options.js';
import type { historyOptionsSchema } from './history-options.js';

export type HistoryOptions = z.output<typeof historyOptionsSchema>;

export interface HistoryRun {
  runId: string;
  command: string;
  version: string | null;
  startedAt: string;
  durationMs: number | null;
  status: 'completed' | 'failed' | 'running';
  trigger: string | null;
  target: string | null;
  detail: string | null;
}

const UNIT_SECONDS: Record<string, number> = { m: 60, h: 3600, d: 86400, w: 604800 };

export async function queryHistory(spec: ConnectionSpec, options: HistoryOptions): Promise<HistoryRun[]> {
  const sinceSeconds = options.since === undefined ? null : Number(options.since.slice(0, -1)) * UNIT_SECONDS[options.since.slice(-1)]!;
  return withClient(spec, async (client) => {
    // Reading history writes nothing: a database without dbops's schema simply has no runs yet.
    const [present] = await query<{ present: boolean }>(client, 'invocation history', `SELECT to_regclass('code_ops.artifact_runs') IS NOT NULL AS present`);
    if (!present?.present) return [];
    const rows = await query<{
      run_id: string;
      artifact_name: string;
      artifact_version: string | null;
      started_at: Date;
      duration_ms: string | null;
      status: HistoryRun['status'];
      triggered_by: string | null;
      target: string | null;
      key_detail: string | null;
    }>(
      client,
      'invocation history',
      `SELECT run_id, artifact_name, artifact_version, started_at, (extract(epoch FROM duration) * 1000)::bigint::text AS duration_ms,
              status, triggered_by, target, key_detail
         FROM code_ops.artifact_runs
        WHERE ($1::text IS NULL OR artifact_name = $1)
          AND ($2::text IS NULL OR status = $2)
          AND ($3::int IS NULL OR started_at >= now() - make_interval(secs => $3))
        ORDER BY started_at DESC, run_id
        LIMIT $4`,
      [options.artifact ?? null, options.status ?? null, sinceSeconds, options.limit],
    );
    return rows.map((r) => ({
      runId: r.run_id,
      command: r.artifact_name,
      version: r.artifact_version,
      startedAt: r.started_at.toISOString(),
      durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
      status: r.status,
      trigger: r.triggered_by,
      target: r.target,
      detail: r.key_detail,
    }));
  });
}
