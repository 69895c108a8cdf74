import type pg from 'pg';
import { formatConnection, type ConnectionSpec } from '../engine/connection.js';
import { ensureEventsSchema } from './events-schema.js';
import type { ArtifactEvent } from './event.js';
import { claimSpool, putBack, spoolEvent, type SpooledEvent } from './spool.js';

// Writes events to code_ops.artifact_events, or to the spool when that database cannot be
// reached. Never throws: self-reporting must not make a command fail. Inserts are idempotent
// (unique run_id + event_type), so a spooled event delivered twice is stored once.

const EVENTS_CONNECT_TIMEOUT_MS = 3000;

function destinationOf(spec: ConnectionSpec | undefined): string {
  return spec === undefined ? '' : formatConnection(spec);
}

export interface RecordOutcome {
  stored: boolean;
  flushed: number;
}

export async function recordEvent(spec: ConnectionSpec | undefined, spool: string, event: ArtifactEvent): Promise<RecordOutcome> {
  const dest = destinationOf(spec);
  if (spec === undefined) {
    await spoolEvent(spool, { dest, event }).catch(() => undefined);
    return { stored: false, flushed: 0 };
  }
  let client: pg.Client | undefined;
  try {
    // Loaded here, not at the top: most read-only commands only spool, and pg is a tenth of start-up.
    const { connect } = await import('../engine/pg/client.js');
    client = await connect(spec, { connectionTimeoutMillis: EVENTS_CONNECT_TIMEOUT_MS, application_name: 'dbops-events' });
    await ensureEventsSchema(client);
    await insertEvent(client, event);
    return { stored: true, flushed: await flushSpool(client, spool, dest) };
  } catch {
    await spoolEvent(spool, { dest, event }).catch(() => undefined);
    return { stored: false, flushed: 0 };
  } finally {
    await client?.end().catch(() => undefined);
  }
}

async function insertEvent(client: pg.Client, e: ArtifactEvent): Promise<void> {
  await client.query(
    `INSERT INTO code_ops.artifact_events (run_id, artifact_type, artifact_name, artifact_version, event_type, success, details, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (run_id, event_type) DO NOTHING`,
    [e.run_id, e.artifact_type, e.artifact_name, e.artifact_version, e.event_type, e.success, JSON.stringify(e.details), e.created_at],
  );
}

/** Delivers spooled events meant for this database (and those that had none); keeps the rest. */
async function flushSpool(client: pg.Client, spool: string, dest: string): Promise<number> {
  const entries = await claimSpool(spool);
  const keep: SpooledEvent[] = [];
  let delivered = 0;
  for (const entry of entries) {
    if (entry.dest !== dest && entry.dest !== '') {
      keep.push(entry);
      continue;
    }
    try {
      await insertEvent(client, entry.event);
      delivered++;
    } catch {
      keep.push(entry);
    }
  }
  await putBack(spool, keep);
  return delivered;
}
