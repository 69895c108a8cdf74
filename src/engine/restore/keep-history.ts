import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { query } from '../pg/client.js';
import { ident } from '../pg/sql.js';

// dbops's own bookkeeping never breaks a restore and is never lost by one. Before the restore
// touches the target, its code_ops schema (the invocation history and the artifact_runs view over
// it) is renamed aside, so neither the backup's DROPs nor an old dump's --clean trip over it. After
// the restore — or its rollback — the history comes back: merged, without duplicates (a run's
// event is identified by run_id and event_type), into the code_ops the backup brought, or the
// schema is renamed back when the backup had none.

export interface HistoryAside {
  schema: string;
}

export const HISTORY_SCHEMA = 'code_ops';
const SCHEMA = HISTORY_SCHEMA;
const TABLE = 'artifact_events';

export async function setHistoryAside(client: pg.Client): Promise<HistoryAside | undefined> {
  const [present] = await query<{ present: boolean }>(client, 'code_ops', `SELECT to_regnamespace($1) IS NOT NULL AS present`, [SCHEMA]);
  if (!present?.present) return undefined;
  const schema = `${SCHEMA}_kept_${randomBytes(4).toString('hex')}`;
  await query(client, 'code_ops', `ALTER SCHEMA ${ident(SCHEMA)} RENAME TO ${ident(schema)}`);
  return { schema };
}

/** Puts the history back; returns how many of the target's own event rows were added to the backup's. */
export async function restoreHistory(client: pg.Client, aside: HistoryAside | undefined): Promise<number> {
  if (aside === undefined) return 0;
  const [state] = await query<{ schema: boolean; table: boolean; kept: boolean }>(
    client,
    'code_ops',
    `SELECT to_regnamespace($1) IS NOT NULL AS schema, to_regclass($2) IS NOT NULL AS table, to_regclass($3) IS NOT NULL AS kept`,
    [SCHEMA, `${ident(SCHEMA)}.${ident(TABLE)}`, `${ident(aside.schema)}.${ident(TABLE)}`],
  );
  if (!state?.schema) {
    await query(client, 'code_ops', `ALTER SCHEMA ${ident(aside.schema)} RENAME TO ${ident(SCHEMA)}`);
    return 0;
  }
  let added = 0;
  if (state.table && state.kept) {
    const columns = (
      await query<{ name: string }>(
        client,
        'artifact_events columns',
        `SELECT a.attname::text AS name FROM pg_attribute a JOIN pg_attribute b ON b.attname = a.attname
          WHERE a.attrelid = to_regclass($1) AND b.attrelid = to_regclass($2) AND a.attnum > 0 AND b.attnum > 0
            AND NOT a.attisdropped AND NOT b.attisdropped AND a.attname <> 'id' ORDER BY a.attnum`,
        [`${ident(SCHEMA)}.${ident(TABLE)}`, `${ident(aside.schema)}.${ident(TABLE)}`],
      )
    ).map((c) => c.name);
    const list = columns.map(ident).join(', ');
    const keyed = columns.includes('run_id') && columns.includes('event_type');
    // Without the run_id/event_type key, a row counts as present when every column but id matches.
    const match = keyed
      ? 'e.run_id = k.run_id AND e.event_type = k.event_type'
      : columns.map((c) => `e.${ident(c)} IS NOT DISTINCT FROM k.${ident(c)}`).join(' AND ');
    const result = await client.query(
      `INSERT INTO ${ident(SCHEMA)}.${ident(TABLE)} (${list})
       SELECT ${columns.map((c) => `k.${ident(c)}`).join(', ')} FROM ${ident(aside.schema)}.${ident(TABLE)} k
        WHERE NOT EXISTS (SELECT 1 FROM ${ident(SCHEMA)}.${ident(TABLE)} e WHERE ${match})`,
    );
    added = result.rowCount ?? 0;
  }
  await query(client, 'code_ops', `DROP SCHEMA ${ident(aside.schema)} CASCADE`);
  return added;
}
