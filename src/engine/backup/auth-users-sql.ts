import type pg from 'pg';
import { query } from '../pg/client.js';
import { ident, literal } from '../pg/sql.js';

// auth_users.sql: Supabase auth users without password hashes or tokens, for moving accounts
// between projects. Users keep their ids (foreign keys elsewhere point at them) and sign in
// again through a reset or a magic link.

const SECRET_COLUMN = /password|token|secret/i;

export async function authUsersSql(client: pg.Client): Promise<{ sql: string; users: number } | undefined> {
  const columns = await query<{ name: string; type: string }>(
    client,
    'auth.users columns',
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a
      WHERE a.attrelid = to_regclass('auth.users') AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      ORDER BY a.attnum`,
  );
  if (columns.length === 0) return undefined;
  const kept = columns.filter((c) => !SECRET_COLUMN.test(c.name));
  const select = kept.map((c) => `${ident(c.name)}::text`).join(', ');
  const hasId = kept.some((c) => c.name === 'id');
  const rows = await query<Record<string, string | null>>(client, 'auth.users', `SELECT ${select} FROM auth.users${hasId ? ' ORDER BY id' : ''}`);
  const names = kept.map((c) => ident(c.name)).join(', ');
  const lines = [
    '-- Supabase auth users without password hashes or tokens. Re-appliable: existing users are kept.',
    '-- Column set as found in the source; users sign in again through a password reset or a magic link.',
  ];
  for (const row of rows) {
    const values = kept.map((c) => {
      const v = row[`${c.name}`];
      return v === null || v === undefined ? 'NULL' : `${literal(v)}::${c.type}`;
    });
    lines.push(`INSERT INTO auth.users (${names}) VALUES (${values.join(', ')})${hasId ? ' ON CONFLICT (id) DO NOTHING' : ''};`);
  }
  return { sql: `${lines.join('\n')}\n`, users: rows.length };
}
