import pg from 'pg';
import { pgClientConfig, type ConnectionSpec } from '../connection.js';
import { DbopsError } from '../errors.js';

// Scoped connections: connect, work, always close. Connection failures become the same
// error codes the client tools' failures map to.

export type Client = pg.Client;

export async function connect(spec: ConnectionSpec): Promise<pg.Client> {
  const client = new pg.Client(pgClientConfig(spec));
  // An idle client whose server goes away emits 'error'; without a listener Node would crash.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw mapConnectError(error, spec);
  }
  return client;
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
