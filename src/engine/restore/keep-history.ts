import type pg from 'pg';
import { query } from '../pg/client.js';
import { ident } from '../pg/sql.js';

// A restore never loses the target's invocation history: rows of code_ops.artifact_events that
// exist before the restore are put back afterwards, next to the backup's own rows, without
// duplicates (a run's event is identified by run_id and event_type).

export interface SavedHistory {
  rows: unknown[];
}

const EXISTS = `SELECT to_regclass('code_ops.artifact_events') IS NOT NULL AS present`;

export async function saveHistory(client: pg.Client): Promise<SavedHistory | undefined> {
  const [present] = await query<{ present: boolean }>(client, 'artifact_events', EXISTS);
  if (!present?.present) return undefined;
  const rows = await query<{ row: unknown }>(client, 'artifact_events', 'SELECT row_to_json(e) AS row FROM code_ops.artifact_events e');
  return { rows: rows.map((r) => r.row) };
}

export async function restoreHistory(client: pg.Client, saved: SavedHistory | undefined): Promise<number> {
  if (saved === undefined || saved.rows.length === 0) return 0;
  const [present] = await query<{ present: boolean }>(client, 'artifact_events', EXISTS);
  if (!present?.present) return 0;
  const columns = (
    await query<{ name: string }>(
      client,
      'artifact_events columns',
      `SELECT attname AS name FROM pg_attribute WHERE attrelid = 'code_ops.artifact_events'::regclass AND attnum > 0 AND NOT attisdropped AND attname <> 'id' ORDER BY attnum`,
    )
  ).map((c) => c.name);
  const list = columns.map(ident).join(', ');
  const keyed = columns.includes('run_id') && columns.includes('event_type');
  // Without the run_id/event_type key, a row counts as present when every column but id matches.
  const match = keyed ? 'e.run_id = r.run_id AND e.event_type = r.event_type' : columns.map((c) => `e.${ident(c)} IS NOT DISTINCT FROM r.${ident(c)}`).join(' AND ');
  const result = await client.query(
    `INSERT INTO code_ops.artifact_events (${list})
     SELECT ${columns.map((c) => `r.${ident(c)}`).join(', ')} FROM json_populate_recordset(NULL::code_ops.artifact_events, $1::json) r
      WHERE NOT EXISTS (SELECT 1 FROM code_ops.artifact_events e WHERE ${match})`,
    [JSON.stringify(saved.rows)],
  );
  return result.rowCount ?? 0;
}
