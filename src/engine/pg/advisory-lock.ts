import type pg from 'pg';
import type { ConnectionSpec } from '../connection.js';
import { DbopsError } from '../errors.js';
import { connect } from './client.js';

// One restore per database at a time: a session advisory lock on the target database, held by
// a connection of its own for the whole restore. Advisory locks are per database, so restores
// into different databases of one server do not wait for each other.

const RESTORE_LOCK = 'dbops:restore';

export interface HeldLock {
  release(): Promise<void>;
}

export async function lockForRestore(spec: ConnectionSpec): Promise<HeldLock> {
  const client: pg.Client = await connect(spec);
  const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [RESTORE_LOCK]);
  if (rows[0]?.locked !== true) {
    await client.end().catch(() => undefined);
    throw new DbopsError('RESTORE_LOCKED', `Another restore into database "${spec.database}" on ${spec.host}:${spec.port} is running.`);
  }
  return {
    // Ending the session releases the lock even if the unlock query cannot run.
    release: async () => {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [RESTORE_LOCK]).catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}
