import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DbopsError } from './errors.js';

// The database of a project as the Supabase CLI knows it, for --linked and --local: what
// `supabase link` leaves in supabase/.temp/ (project-ref, pooler-url) and what `supabase start`
// reads from supabase/config.toml. dbops builds the same connection the Supabase CLI would use,
// so a project that works with `supabase db dump --linked` works with `dbops backup-db --linked`.

const TEMP = 'supabase/.temp';

function readTrimmed(file: string): string | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

/**
 * The linked project's database: its pooler host in session mode (port 5432: pg_dump needs a
 * session, and the pooler is reachable over IPv4) when `supabase link` recorded one, else the
 * direct host db.<ref>.supabase.co. The password comes from SUPABASE_DB_PASSWORD, as for the
 * Supabase CLI; TLS is required (dbops's default for any host not on this machine).
 */
export function linkedProjectUrl(root: string, env: NodeJS.ProcessEnv): string {
  const ref = readTrimmed(path.join(root, TEMP, 'project-ref'));
  if (ref === undefined || !/^[a-z0-9]{10,40}$/.test(ref)) {
    throw new DbopsError('SUPABASE_NOT_LINKED', `--linked: no linked Supabase project in ${root} (${TEMP}/project-ref is missing or not a project ref).`, {
      hint: 'Run `supabase link --project-ref <ref>` in the project first, or pass --url/--target.',
    });
  }
  const password = env.SUPABASE_DB_PASSWORD;
  if (password === undefined || password === '') {
    throw new DbopsError('TARGET_URL_MISSING', `--linked: SUPABASE_DB_PASSWORD is not set (the database password of project ${ref}).`, {
      hint: 'Set SUPABASE_DB_PASSWORD (as for `supabase db dump --linked`), in the environment or in .env.',
    });
  }
  const url = new URL('postgres://placeholder/postgres');
  const pooler = readTrimmed(path.join(root, TEMP, 'pooler-url'));
  let poolerUrl: URL | undefined;
  try {
    poolerUrl = pooler === undefined ? undefined : new URL(pooler);
  } catch {
    poolerUrl = undefined; // unreadable: the direct host below
  }
  if (poolerUrl !== undefined && /\.pooler\.supabase\.com$/i.test(poolerUrl.hostname)) {
    url.hostname = poolerUrl.hostname;
    url.username = poolerUrl.username || `postgres.${ref}`;
  } else {
    url.hostname = `db.${ref}.supabase.co`;
    url.username = 'postgres';
  }
  url.port = '5432';
  url.password = encodeURIComponent(password);
  return url.toString();
}

/**
 * The local development database of `supabase start`: 127.0.0.1 on [db] port of
 * supabase/config.toml (54322 when not set), user and password postgres (the CLI's fixed local
 * credentials). One key of one table is read with a pattern rather than a TOML parser: dbops
 * needs nothing else from that file.
 */
export function localProjectUrl(root: string): string {
  const config = readTrimmed(path.join(root, 'supabase/config.toml'));
  if (config === undefined) {
    throw new DbopsError('SUPABASE_NOT_LINKED', `--local: no supabase/config.toml in ${root}.`, {
      hint: 'Run `supabase init` and `supabase start` in the project first, or pass --url/--target.',
    });
  }
  const db = /^\[db\][^\S\n]*\n([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(config)?.[1] ?? '';
  const port = Number(/^\s*port\s*=\s*(\d+)\s*(?:#.*)?$/m.exec(db)?.[1] ?? 54322);
  return `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
}
