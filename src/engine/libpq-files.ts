import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { cutShort, DbopsError } from './errors.js';

// libpq's two files, read the way libpq reads them, so that a connection set up for psql
// (a service in pg_service.conf, a password in .pgpass) works for dbops's own connection too.
// The child tools then get the resolved values explicitly: handing them PGSERVICE would let
// the service override the host dbops resolved, since libpq ranks a service above PG* variables.

/** Keys a service may set, as libpq names them. */
export const SERVICE_KEYS = [
  'host',
  'port',
  'dbname',
  'user',
  'password',
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'application_name',
  'options',
  'target_session_attrs',
  'connect_timeout',
  'passfile',
] as const;

function homeOf(env: NodeJS.ProcessEnv): string {
  return env.HOME !== undefined && env.HOME !== '' ? env.HOME : homedir();
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DbopsError('URL_INVALID', `Cannot read ${file}: ${(error as Error).message}.`);
  }
}

/**
 * The settings of service `name`: PGSERVICEFILE (else ~/.pg_service.conf) first, then
 * $PGSYSCONFDIR/pg_service.conf, the first file that defines it wins. Never echoes a value.
 */
export function readService(name: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const files = [env.PGSERVICEFILE || path.join(homeOf(env), '.pg_service.conf')];
  if (env.PGSYSCONFDIR) files.push(path.join(env.PGSYSCONFDIR, 'pg_service.conf'));
  for (const file of files) {
    const text = readIfPresent(file);
    if (text === undefined) continue;
    const found = serviceIn(text, name, file);
    if (found !== undefined) return found;
  }
  throw new DbopsError('URL_INVALID', `Service "${cutShort(name, 63)}" is not defined in ${files.join(' or ')}.`, {
    hint: 'Define it as [name] with host=, port=, dbname=, user= lines, or set PGSERVICEFILE to the file that does.',
  });
}

function serviceIn(text: string, name: string, file: string): Record<string, string> | undefined {
  let current: string | undefined;
  let found: Record<string, string> | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    if (line.startsWith('[')) {
      current = line.replace(/^\[|\]$/g, '');
      if (current === name && found === undefined) found = {};
      return;
    }
    if (current !== name || found === undefined) return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq).trim();
    if (eq < 0 || !(SERVICE_KEYS as readonly string[]).includes(key)) {
      throw new DbopsError('URL_INVALID', `${file} line ${index + 1}: "${key.slice(0, 40)}" is not a setting dbops reads from a service.`, {
        hint: `A service may set ${SERVICE_KEYS.join(', ')}.`,
      });
    }
    found[key] = line.slice(eq + 1).trim();
  });
  return found;
}

/**
 * The password .pgpass gives for this connection: PGPASSFILE (else ~/.pgpass), first
 * matching line, `*` matching anything. Like libpq, a file others may read is not used.
 */
export function passwordFromPassfile(
  conn: { host: string; port: number; database: string; user: string },
  env: NodeJS.ProcessEnv,
  passfile?: string,
): string | undefined {
  const file = passfile || env.PGPASSFILE || path.join(homeOf(env), '.pgpass');
  let text: string | undefined;
  try {
    if ((statSync(file).mode & 0o077) !== 0) return undefined;
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  // A socket directory (or no host) is "localhost" to .pgpass.
  const host = conn.host === '' || conn.host.startsWith('/') ? 'localhost' : conn.host;
  const wanted = [host, String(conn.port), conn.database, conn.user];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields = splitPassLine(line);
    if (fields.length < 5) continue;
    if (wanted.every((value, i) => fields[i] === '*' || fields[i] === value)) return fields[4];
  }
  return undefined;
}

/** host:port:database:user:password, with \: and \\ as escapes. */
function splitPassLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '\\' && i + 1 < line.length) field += line[++i]!;
    else if (ch === ':' && fields.length < 4) {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  fields.push(field);
  return fields;
}
