import pg from 'pg';
import { applyLockTimeout } from '../connection-locks.js';
import { refusedThisWay } from '../connection-tls.js';
import { pgClientAttempts, type ConnectionSpec } from '../connection.js';
import { DbopsError } from '../errors.js';

// Scoped connections: connect, work, always close. Connection failures become the same
// error codes the client tools' failures map to.

export type Client = pg.Client;

/** Connects with each TLS attempt the spec's sslmode allows, moving on only when the server refuses that way. */
export async function connect(spec: ConnectionSpec, overrides: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const attempts = pgClientAttempts(spec);
  for (const [index, config] of attempts.entries()) {
    const client = new pg.Client({ ...config, ...overrides });
    // An idle client whose server goes away emits 'error'; without a listener Node would crash.
    client.on('error', () => undefined);
    try {
      await client.connect();
      // Every statement of ours stops waiting on another session's lock after the limit (connection-locks.ts).
      await applyLockTimeout(client, spec.lockTimeoutMs);
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (index + 1 < attempts.length && refusedThisWay(error)) continue;
      throw mapConnectError(error, spec);
    }
  }
  throw new DbopsError('INTERNAL', 'No connection attempt was made.');
}

export async function withClient<T>(spec: ConnectionSpec, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(spec);
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function mapConnectError(error: unknown, spec: ConnectionSpec): DbopsError {
  const where = `${spec.host}:${spec.port}`;
  const err = error as { code?: string; message?: string };
  if (err.code === '28P01' || err.code === '28000') {
    return new DbopsError('AUTH_FAILED', `The server at ${where} refused user "${spec.user}": ${err.message ?? 'authentication failed'}.`, { cause: error });
  }
  // node-postgres says so in its own words when the server asks for a password it has not got.
  if (/client password must be a (non-empty )?string|no password supplied/i.test(err.message ?? '')) {
    return new DbopsError('AUTH_FAILED', `The server at ${where} asks user "${spec.user}" for a password, and none was given.`, { cause: error });
  }
  if (/does not support SSL connections/i.test(err.message ?? '')) {
    return new DbopsError('CONNECT_FAILED', `The server at ${where} does not offer TLS, and sslmode is ${spec.sslmode}.`, {
      cause: error,
      hint: 'Turn on ssl in the server, or, for a server reached only over a network you trust, add sslmode=disable (or prefer) to the URL.',
    });
  }
  if (err.code === '3D000') {
    return new DbopsError('DATABASE_MISSING', `Database "${spec.database}" does not exist on ${where}.`, { cause: error });
  }
  const reason = err.message?.split('\n')[0] ?? String(error);
  return new DbopsError('CONNECT_FAILED', `Cannot connect to ${where}: ${reason}.`, { cause: error });
}

/** Runs a catalog query, turning a failure into QUERY_FAILED that names what was being read. */
export async function query<R extends pg.QueryResultRow>(client: pg.Client, what: string, text: string, values: unknown[] = []): Promise<R[]> {
  try {
    const result = await client.query<R>(text, values);
    return result.rows;
  } catch (error) {
    throw new DbopsError('QUERY_FAILED', `Reading ${what} failed: ${(error as Error).message}`, { cause: error });
  }
}
