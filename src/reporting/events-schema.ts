import type pg from 'pg';

// code_ops.artifact_events and the artifact_runs view. Idempotent, and safe when several
// processes run it at once: concurrent CREATE … IF NOT EXISTS can still collide in the
// catalog, so the whole migration runs under one transaction-scoped advisory lock.

const MIGRATION = `
CREATE SCHEMA IF NOT EXISTS code_ops;
CREATE TABLE IF NOT EXISTS code_ops.artifact_events (
  id bigserial PRIMARY KEY,
  run_id uuid NOT NULL,
  artifact_type text NOT NULL,
  artifact_name text NOT NULL,
  artifact_version text,
  event_type text NOT NULL CHECK (event_type IN ('invoked', 'completed', 'failed')),
  success boolean,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT artifact_events_run_event_key UNIQUE (run_id, event_type)
);
CREATE INDEX IF NOT EXISTS artifact_events_name_created_idx ON code_ops.artifact_events (artifact_name, created_at DESC);
CREATE INDEX IF NOT EXISTS artifact_events_created_idx ON code_ops.artifact_events (created_at DESC);
CREATE OR REPLACE VIEW code_ops.artifact_runs AS
SELECT i.run_id,
       i.artifact_type,
       i.artifact_name,
       i.artifact_version,
       i.created_at AS started_at,
       o.created_at AS ended_at,
       o.created_at - i.created_at AS duration,
       coalesce(o.event_type, 'running') AS status,
       i.details->>'triggered_by' AS triggered_by,
       i.details->>'target' AS target,
       coalesce(o.details->>'backupDir', o.details->>'backup_dir', o.details->>'error', o.details->>'summary') AS key_detail,
       i.details AS invoked_details,
       o.details AS outcome_details
  FROM code_ops.artifact_events i
  LEFT JOIN code_ops.artifact_events o ON o.run_id = i.run_id AND o.event_type IN ('completed', 'failed')
 WHERE i.event_type = 'invoked';
`;

export async function ensureEventsSchema(client: pg.Client): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('dbops:events-schema'))`);
    await client.query(MIGRATION);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
