import { dollarQuoted, ident, literal } from '../pg/sql.js';
import { globToRegExp } from './selection.js';

// roles.sql: the custom roles the dump's owners and grants need, named from
// `pg_dumpall --roles-only --no-role-passwords`, with reserved (Supabase and built-in) roles
// left out. Only their names and memberships are used (see rolesSql): a restore never re-creates
// the source's role attributes.

interface RoleStatements {
  name: string;
  statements: string[];
}

/** Reads one identifier as pg_dumpall writes it (fmtId): "quoted ""like"" this" or bare. */
export function readIdentifier(text: string, at: number): { name: string; end: number } | undefined {
  if (text[at] === '"') {
    let name = '';
    let i = at + 1;
    while (i < text.length) {
      if (text[i] === '"') {
        if (text[i + 1] === '"') {
          name += '"';
          i += 2;
          continue;
        }
        return { name, end: i + 1 };
      }
      name += text[i++];
    }
    return undefined;
  }
  const match = /^[^\s;"]+/.exec(text.slice(at));
  return match ? { name: match[0], end: at + match[0].length } : undefined;
}

export function isReservedRole(name: string, reserved: readonly string[]): boolean {
  return reserved.some((pattern) => globToRegExp(pattern).test(name));
}

/**
 * pg_dumpall's statements, each ending at a ';' outside quotes. Not split by lines: a role name
 * may hold a newline (and a ';'), and pg_dumpall writes it inside its quotes as it is.
 */
export function splitStatements(dump: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < dump.length; i++) {
    const ch = dump[i]!;
    if (quote !== undefined) {
      if (ch === quote) {
        if (dump[i + 1] === quote) i++;
        else quote = undefined;
      }
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === '-' && dump[i + 1] === '-') {
      const end = dump.indexOf('\n', i);
      i = end < 0 ? dump.length : end;
      if (dump.slice(start, i).trim().startsWith('--')) start = i + 1;
    } else if (ch === ';') {
      statements.push(`${dump.slice(start, i).trim()};`);
      start = i + 1;
    }
  }
  return statements.filter((st) => st !== ';');
}

/** Groups pg_dumpall's statements by the role they create or alter. */
export function parseRoleDump(dump: string): { roles: RoleStatements[]; memberships: Array<{ role: string; member: string; statement: string }> } {
  const roles = new Map<string, RoleStatements>();
  const memberships: Array<{ role: string; member: string; statement: string }> = [];
  for (const line of splitStatements(dump)) {
    const subject = /^(CREATE ROLE|ALTER ROLE|COMMENT ON ROLE|SECURITY LABEL (?:FOR \S+ )?ON ROLE) /.exec(line);
    if (subject) {
      const id = readIdentifier(line, subject[0].length);
      if (!id) continue;
      const entry = roles.get(id.name) ?? { name: id.name, statements: [] };
      entry.statements.push(line.startsWith('ALTER ROLE') ? line.replace(/ WITH (.*)\bLOGIN\b/, (m) => m.replace(/\bLOGIN\b/, 'NOLOGIN')) : line);
      roles.set(id.name, entry);
      continue;
    }
    if (line.startsWith('GRANT ')) {
      const role = readIdentifier(line, 'GRANT '.length);
      if (!role || !line.startsWith(' TO ', role.end)) continue;
      const member = readIdentifier(line, role.end + ' TO '.length);
      if (!member) continue;
      // GRANTED BY names a grantor that may not exist where this is re-applied.
      const statement = `${line.slice(0, member.end)}${/ WITH ADMIN OPTION/.test(line) ? ' WITH ADMIN OPTION' : ''};`;
      memberships.push({ role: role.name, member: member.name, statement });
    }
  }
  return { roles: [...roles.values()], memberships };
}

/**
 * The `GRANT role TO member [WITH ADMIN OPTION];` statements of a roles.sql (this version's or an
 * older one's), read as names only; read across lines, since a quoted name may hold a newline.
 */
export function membershipsIn(sql: string): Array<{ role: string; member: string; admin: boolean }> {
  const found: Array<{ role: string; member: string; admin: boolean }> = [];
  for (const match of sql.matchAll(/^[ \t]*GRANT /gm)) {
    const at = match.index + match[0].length;
    const role = readIdentifier(sql, at);
    if (!role || !sql.startsWith(' TO ', role.end)) continue;
    const member = readIdentifier(sql, role.end + ' TO '.length);
    if (!member) continue;
    const tail = /^( WITH ADMIN OPTION)?;/.exec(sql.slice(member.end, member.end + 20));
    if (tail) found.push({ role: role.name, member: member.name, admin: tail[1] !== undefined });
  }
  return found;
}

/** A dollar-quote tag that the body does not contain (a role name may hold "$dbops$"). */
function dollarQuote(body: string): string {
  let tag = 'dbops';
  for (let i = 1; body.includes(`$${tag}$`); i++) tag = `dbops${i}`;
  return dollarQuoted(body, tag);
}

const CREATED = `'dbops.created_roles'`;

/**
 * roles.sql: each role the dump needs that the cluster lacks is created NOLOGIN and nothing else
 * (no SUPERUSER, CREATEROLE, CREATEDB, BYPASSRLS or REPLICATION, whatever the source gave it: a
 * backup must not hand rights to anyone); a role that exists is never changed. Memberships are
 * granted only between two roles this run of the file created, so no existing role gains one
 * (joining a role that holds more rights would be a way to gain them).
 */
export function rolesSql(dump: string, needed: readonly string[], reserved: readonly string[]): { sql: string; roles: string[] } {
  const { roles, memberships } = parseRoleDump(dump);
  const kept = roles.filter((r) => needed.includes(r.name) && !isReservedRole(r.name, reserved));
  const keptNames = kept.map((r) => r.name);
  const lines = [
    '-- Custom roles the dump needs (no passwords). A missing role is created NOLOGIN with no other attribute;',
    '-- a role that exists is never changed. Memberships are granted only between roles this file created.',
    '-- Attributes and logins the source gave them are not copied: grant what a role needs by hand.',
    `SELECT pg_catalog.set_config(${CREATED}, '[]', false);`,
  ];
  for (const role of kept) {
    const name = literal(role.name);
    const body = [
      `\nBEGIN`,
      `  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = ${name}) THEN`,
      `    CREATE ROLE ${ident(role.name)} NOLOGIN;`,
      `    PERFORM pg_catalog.set_config(${CREATED}, (pg_catalog.current_setting(${CREATED})::jsonb || pg_catalog.to_jsonb(${name}::text))::text, false);`,
      `    RAISE NOTICE 'dbops: created role %', ${name};`,
      `  END IF;`,
      `END\n`,
    ].join('\n');
    lines.push(`DO ${dollarQuote(body)};`);
  }
  for (const m of memberships.filter((x) => keptNames.includes(x.role) && keptNames.includes(x.member))) {
    const [role, member] = [literal(m.role), literal(m.member)];
    const body = [
      `\nBEGIN`,
      `  IF pg_catalog.current_setting(${CREATED})::jsonb ? ${role} AND pg_catalog.current_setting(${CREATED})::jsonb ? ${member} THEN`,
      `    ${m.statement}`,
      `    RAISE NOTICE 'dbops: granted role % to %', ${role}, ${member};`,
      `  END IF;`,
      `END\n`,
    ].join('\n');
    lines.push(`DO ${dollarQuote(body)};`);
  }
  return { sql: `${lines.join('\n')}\n`, roles: keptNames };
}
