import { dollarQuoted, literal } from '../pg/sql.js';
import { globToRegExp } from './selection.js';

// roles.sql: the custom roles the dump's owners and grants need, taken from
// `pg_dumpall --roles-only --no-role-passwords`, with reserved (Supabase and built-in) roles
// left out. Each role's statements run only when the role is missing, so re-applying the file
// never changes a role that exists; created roles get NOLOGIN (no password travels with a backup).

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

/** Groups pg_dumpall's one-line statements by the role they create or alter. */
export function parseRoleDump(dump: string): { roles: RoleStatements[]; memberships: Array<{ role: string; member: string; statement: string }> } {
  const roles = new Map<string, RoleStatements>();
  const memberships: Array<{ role: string; member: string; statement: string }> = [];
  for (const line of dump.split('\n')) {
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

export function rolesSql(dump: string, needed: readonly string[], reserved: readonly string[]): { sql: string; roles: string[] } {
  const { roles, memberships } = parseRoleDump(dump);
  const kept = roles.filter((r) => needed.includes(r.name) && !isReservedRole(r.name, reserved));
  const keptNames = kept.map((r) => r.name);
  const lines = ['-- Custom roles the dump needs (no passwords). Re-appliable: a role that exists is never changed.'];
  for (const role of kept) {
    const body = [
      `\nBEGIN`,
      `  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${literal(role.name)}) THEN`,
      ...role.statements.map((s) => `    ${s}`),
      `    RAISE NOTICE 'dbops: created role %', ${literal(role.name)};`,
      `  END IF;`,
      `END\n`,
    ].join('\n');
    lines.push(`DO ${dollarQuoted(body)};`);
  }
  // Memberships come after every role exists; each is added only where both roles exist and it is missing.
  for (const m of memberships.filter((x) => keptNames.includes(x.role) || keptNames.includes(x.member))) {
    const [role, member] = [literal(m.role), literal(m.member)];
    const body = [
      `\nBEGIN`,
      `  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${role}) AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${member})`,
      `     AND NOT EXISTS (SELECT 1 FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles u ON u.oid = am.member`,
      `                     WHERE r.rolname = ${role} AND u.rolname = ${member}) THEN`,
      `    ${m.statement}`,
      `  END IF;`,
      `END\n`,
    ].join('\n');
    lines.push(`DO ${dollarQuoted(body)};`);
  }
  return { sql: `${lines.join('\n')}\n`, roles: keptNames };
}
