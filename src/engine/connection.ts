import type { ClientConfig } from 'pg';
import { DbopsError } from './errors.js';

// A parsed connection. The password lives here and only travels onwards through
// libpq environment variables (child tools) or the pg client config — never argv,
// never a rebuilt URL, never output.
export interface ConnectionSpec {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string | undefined;
  sslmode: string | undefined;
  /** Other libpq query parameters we pass on (sslrootcert, application_name, …). */
  params: Readonly<Record<string, string>>;
}

const TRANSACTION_POOLER_PORT = 6543;
const CONNECT_TIMEOUT_SECONDS = 10;

const PARAM_ENV: Record<string, string> = {
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  application_name: 'PGAPPNAME',
  options: 'PGOPTIONS',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
};

/** Parses a postgres:// URL. Errors never repeat the URL: it may hold a password. */
export function parseConnectionUrl(url: string, source: string): ConnectionSpec {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DbopsError('URL_INVALID', `The connection URL from ${source} is not a valid URL.`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new DbopsError('URL_INVALID', `The connection URL from ${source} must start with postgres:// or postgresql://.`);
  }
  const params: Record<string, string> = {};
  for (const [key, value] of parsed.searchParams) params[key] = value;
  const host = params.host ?? decodeURIComponent(parsed.hostname);
  delete params.host;
  const sslmode = params.sslmode;
  delete params.sslmode;
  const unknown = Object.keys(params).filter((key) => !(key in PARAM_ENV));
  if (unknown.length > 0) {
    throw new DbopsError('URL_INVALID', `The connection URL from ${source} has unsupported parameters: ${unknown.join(', ')}.`);
  }
  const port = parsed.port === '' ? 5432 : Number(parsed.port);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const user = decodeURIComponent(parsed.username);
  if (host === '' || database === '' || user === '') {
    throw new DbopsError('URL_INVALID', `The connection URL from ${source} must name a host, a user and a database.`);
  }
  let password: string | undefined;
  try {
    password = parsed.password === '' ? undefined : decodeURIComponent(parsed.password);
  } catch {
    throw new DbopsError('URL_INVALID', `The password in the connection URL from ${source} is not valid percent-encoding.`, {
      hint: 'Percent-encode special characters in the password (e.g. @ as %40, # as %23, % as %25).',
    });
  }
  const spec: ConnectionSpec = { host, port, database, user, password, sslmode, params };
  assertNotTransactionPooler(spec, source);
  return spec;
}

function assertNotTransactionPooler(spec: ConnectionSpec, source: string): void {
  if (spec.port === TRANSACTION_POOLER_PORT) {
    throw new DbopsError(
      'URL_POOLER_TRANSACTION',
      `The URL from ${source} points at port ${TRANSACTION_POOLER_PORT}, Supabase's transaction pooler.`,
    );
  }
}

/** Environment for libpq-based child tools (pg_dump, pg_restore, psql). */
export function libpqEnv(spec: ConnectionSpec): Record<string, string> {
  const env: Record<string, string> = {
    PGHOST: spec.host,
    PGPORT: String(spec.port),
    PGDATABASE: spec.database,
    PGUSER: spec.user,
    PGCONNECT_TIMEOUT: String(CONNECT_TIMEOUT_SECONDS),
  };
  if (spec.password !== undefined) env.PGPASSWORD = spec.password;
  if (spec.sslmode !== undefined) env.PGSSLMODE = spec.sslmode;
  for (const [key, value] of Object.entries(spec.params)) {
    const name = PARAM_ENV[key];
    if (name !== undefined) env[name] = value;
  }
  return env;
}

/** Config for the pg client. libpq's "prefer" cannot be expressed, so it means no TLS, like "disable". */
export function pgClientConfig(spec: ConnectionSpec): ClientConfig {
  const mode = spec.sslmode ?? 'prefer';
  const ssl =
    mode === 'require' ? { rejectUnauthorized: false } : mode === 'verify-ca' || mode === 'verify-full' ? { rejectUnauthorized: true } : false;
  return {
    host: spec.host,
    port: spec.port,
    database: spec.database,
    user: spec.user,
    password: spec.password,
    ssl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_SECONDS * 1000,
    application_name: spec.params.application_name ?? 'dbops',
  };
}

/** The same server, another database (used to create and drop scratch databases). */
export function withDatabase(spec: ConnectionSpec, database: string): ConnectionSpec {
  return { ...spec, database };
}

/** What may be shown or stored about a connection: never the password. */
export function describeConnection(spec: ConnectionSpec): { host: string; port: number; database: string; user: string } {
  return { host: spec.host, port: spec.port, database: spec.database, user: spec.user };
}

export function formatConnection(spec: ConnectionSpec): string {
  return `${spec.user}@${spec.host}:${spec.port}/${spec.database}`;
}
