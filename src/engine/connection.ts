import type { ClientConfig } from 'pg';
import { lockTimeoutFromEnv } from './connection-locks.js';
import { DbopsError } from './errors.js';
import { resolveSslmode, tlsAttempts, type SslMode } from './connection-tls.js';
import { splitUri } from './connection-uri.js';
import { passwordFromPassfile, readService } from './libpq-files.js';

// A parsed connection. The password lives here and only travels onwards through
// libpq environment variables (child tools) or the pg client config — never argv,
// never a rebuilt URL, never output.
export interface ConnectionSpec {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string | undefined;
  /** Always set: the URL's, the service's or PGSSLMODE, else the default for the host (see connection-tls.ts). */
  sslmode: SslMode;
  /** Other libpq query parameters we pass on (sslrootcert, application_name, …). */
  params: Readonly<Record<string, string>>;
  /** How long a statement may wait for another session's lock (DBOPS_LOCK_TIMEOUT; see connection-locks.ts). */
  lockTimeoutMs?: number | undefined;
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

// Certificates and keys follow the environment too: they belong with PGSSLMODE. Session settings
// (PGOPTIONS, PGAPPNAME) of the caller's shell are not carried into dbops's runs.
const TLS_FILE_PARAMS = new Set(['sslrootcert', 'sslcert', 'sslkey']);

/**
 * Parses a postgres:// URL and completes it the way libpq would: a value missing from the URL
 * comes from its service (`?service=` or PGSERVICE, read from pg_service.conf), then from the
 * PG* variable (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGSSLMODE…), and a password
 * still missing from .pgpass (PGPASSFILE). Errors never repeat the URL: it may hold a password.
 */
export function parseConnectionUrl(url: string, source: string, env: NodeJS.ProcessEnv = process.env): ConnectionSpec {
  const parts = splitUri(url);
  if (parts === undefined) throw new DbopsError('URL_INVALID', `The connection URL from ${source} is not a valid URL.`);
  if (parts.scheme.toLowerCase() !== 'postgres' && parts.scheme.toLowerCase() !== 'postgresql') {
    throw new DbopsError('URL_INVALID', `The connection URL from ${source} must start with postgres:// or postgresql://.`);
  }
  // The userinfo is taken off before the URL parser sees the rest, so a '/', '#' or '?' in an
  // unencoded password cannot turn into a host, a port or a database name.
  let parsed: URL;
  try {
    parsed = new URL(`postgres://${parts.rest}`);
  } catch {
    throw new DbopsError('URL_INVALID', `The connection URL from ${source} is not a valid URL.`);
  }
  const params: Record<string, string> = {};
  for (const [key, value] of parsed.searchParams) params[key] = value;
  const serviceName = given(params.service) ?? given(env.PGSERVICE);
  const passfile = params.passfile;
  const urlHost = params.host ?? decodeOrRefuse(parsed.hostname, 'host', source);
  const urlSslmode = params.sslmode;
  for (const key of ['host', 'sslmode', 'service', 'passfile']) delete params[key];
  assertNotPoolerUrl(params, parsed, decodeURIComponentSafe(parts.user ?? ''), source);
  const unknown = Object.keys(params).filter((key) => !(key in PARAM_ENV));
  if (unknown.length > 0) {
    throw new DbopsError('URL_INVALID', `The connection URL from ${source} has unsupported parameters: ${unknown.join(', ')}.`);
  }
  let urlPassword: string | undefined;
  let urlUser: string;
  try {
    urlUser = decodeURIComponent(parts.user ?? '');
    urlPassword = parts.password === undefined || parts.password === '' ? undefined : decodeURIComponent(parts.password);
  } catch {
    throw new DbopsError('URL_INVALID', `The user or password in the connection URL from ${source} is not valid percent-encoding.`, {
      hint: 'Write a % in the user or password as %25 (a % starts a percent-encoded character); @, /, # and spaces may stay as they are.',
    });
  }
  // libpq's order for each setting: the URL, then the service, then the environment variable.
  const service = serviceName === undefined ? {} : readService(serviceName, env);
  const setting = (fromUrl: string | undefined, key: string, variable: string) => given(fromUrl) ?? given(service[key]) ?? given(env[variable]);
  const host = setting(urlHost, 'host', 'PGHOST') ?? '';
  const portText = setting(parsed.port, 'port', 'PGPORT') ?? '5432';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DbopsError('URL_INVALID', `The port for the connection from ${source} is not a number between 1 and 65535.`);
  }
  const database = setting(decodeOrRefuse(parsed.pathname.replace(/^\//, ''), 'database name', source), 'dbname', 'PGDATABASE') ?? '';
  const user = setting(urlUser, 'user', 'PGUSER') ?? '';
  if (host === '' || database === '' || user === '') {
    throw new DbopsError(
      'URL_INVALID',
      `The connection URL from ${source} must name a host, a user and a database (in the URL, its service, or PGHOST, PGUSER and PGDATABASE).`,
    );
  }
  for (const [key, variable] of Object.entries(PARAM_ENV)) {
    const value = key === 'sslmode' ? undefined : (given(params[key]) ?? given(service[key]) ?? (TLS_FILE_PARAMS.has(key) ? given(env[variable]) : undefined));
    if (value === undefined) delete params[key];
    else params[key] = value;
  }
  const password =
    urlPassword ??
    given(service.password) ??
    given(env.PGPASSWORD) ??
    passwordFromPassfile({ host, port, database, user }, env, passfile ?? service.passfile) ??
    // The Supabase CLI's own variable for a project's database password, for Supabase hosts only.
    (isSupabaseHost(host) ? given(env.SUPABASE_DB_PASSWORD) : undefined);
  const sslmode = resolveSslmode(setting(urlSslmode, 'sslmode', 'PGSSLMODE'), host, source);
  const spec: ConnectionSpec = { host, port, database, user, password, sslmode, params, lockTimeoutMs: lockTimeoutFromEnv(env) };
  assertNotTransactionPooler(spec, source);
  return spec;
}

/** A percent-decoded part of the URL; a lone "%" is URL_INVALID, never a raw URIError. */
function decodeOrRefuse(text: string, what: string, source: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new DbopsError('URL_INVALID', `The ${what} in the connection URL from ${source} is not valid percent-encoding.`, {
      hint: 'Write a % in the URL as %25 (a % starts a percent-encoded character).',
    });
  }
}

/** An empty variable counts as unset, as it does for libpq. */
function given(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Supabase's hosted databases and poolers: db.<ref>.supabase.co, *.pooler.supabase.com. */
export function isSupabaseHost(host: string): boolean {
  return /(^|\.)supabase\.(co|com)$/i.test(host);
}

/** What to use instead of a transaction-pooler URL: the same host on the session port, never with the password. */
function sessionPoolerHint(host: string, user: string, database: string): string {
  return `pg_dump and a restore need a session of their own: use the session pooler, postgres://${user || 'USER'}:PASSWORD@${host}:5432/${database || 'postgres'} (same host, port 5432), or the direct connection (Prisma's DIRECT_URL, db.<project-ref>.supabase.co:5432).`;
}

function assertNotTransactionPooler(spec: ConnectionSpec, source: string): void {
  if (spec.port === TRANSACTION_POOLER_PORT) {
    throw new DbopsError(
      'URL_POOLER_TRANSACTION',
      `The URL from ${source} points at port ${TRANSACTION_POOLER_PORT}, Supabase's transaction pooler, which pg_dump and pg_restore cannot work through.`,
      { hint: sessionPoolerHint(spec.host, spec.user, spec.database) },
    );
  }
}

/**
 * Prisma's pooled URL (DATABASE_URL with ?pgbouncer=true, connection_limit, pool_timeout, schema):
 * parameters libpq does not know, meant for a transaction pooler. Said as such, with the URL to
 * use instead, rather than "unsupported parameters".
 */
function assertNotPoolerUrl(params: Record<string, string>, parsed: URL, user: string, source: string): void {
  const prisma = ['pgbouncer', 'connection_limit', 'pool_timeout', 'schema', 'statement_cache_size'].filter((key) => key in params);
  if (prisma.length === 0) return;
  throw new DbopsError(
    'URL_POOLER_TRANSACTION',
    `The URL from ${source} is a Prisma pooled URL (${prisma.join(', ')}): it is meant for a transaction pooler, which pg_dump and pg_restore cannot work through.`,
    {
      hint: `${sessionPoolerHint(parsed.hostname, user, decodeURIComponentSafe(parsed.pathname.replace(/^\//, '')))} Prisma projects usually have it as DIRECT_URL.`,
    },
  );
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
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
  env.PGSSLMODE = spec.sslmode;
  for (const [key, value] of Object.entries(spec.params)) {
    const name = PARAM_ENV[key];
    if (name !== undefined) env[name] = value;
  }
  return env;
}

/**
 * Config for the pg client, one per attempt: two for prefer (TLS, then plain if the server
 * refuses TLS) and allow (the other way round), one for every other mode.
 */
export function pgClientAttempts(spec: ConnectionSpec): ClientConfig[] {
  return tlsAttempts(spec.sslmode, spec.params).map((ssl) => ({
    host: spec.host,
    port: spec.port,
    database: spec.database,
    user: spec.user,
    password: spec.password,
    ssl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_SECONDS * 1000,
    application_name: spec.params.application_name ?? 'dbops',
  }));
}

/** The first attempt's config. */
export function pgClientConfig(spec: ConnectionSpec): ClientConfig {
  return pgClientAttempts(spec)[0]!;
}

/**
 * The same connection under another application_name: every session a restore opens (its own and
 * its tools') carries one, so a watch can tell them from the sessions in their way. A name the
 * user chose in the URL stays, with ours added.
 */
export function withApplicationName(spec: ConnectionSpec, name: string): ConnectionSpec {
  const own = spec.params.application_name;
  // PostgreSQL keeps 63 bytes of it: ours goes first so it is never the part cut off.
  return { ...spec, params: { ...spec.params, application_name: own === undefined ? name : `${name} ${own}` } };
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
