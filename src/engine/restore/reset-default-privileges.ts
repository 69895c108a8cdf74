import type pg from 'pg';
import { query } from '../pg/client.js';
import { globToRegExp } from '../backup/selection.js';
import { ident } from '../pg/sql.js';

// pg_restore --clean drops and re-creates tables, and CREATE TABLE applies the target's
// default privileges (ALTER DEFAULT PRIVILEGES … IN SCHEMA) to them, before the dump's own ACLs.
// pg_dump writes ACLs as differences from the built-in defaults, so such inherited grants
// would survive the restore. Clearing the target's schema-scoped default privileges in the
// schemas the backup holds — and the database-wide ones, back to PostgreSQL's built-in defaults
// (a target whose FOR ROLE default revokes EXECUTE from PUBLIC would otherwise strip it from
// every function the restore makes) — lets the dump's DEFAULT ACL entries (restored last) take
// their place.
// Only for roles the restoring role acts for, and never the platform's (supabase_admin's default
// privileges in public belong to the project, and nobody but a superuser may change them).

const OBJECT_TYPES: Record<string, string> = { r: 'TABLES', S: 'SEQUENCES', f: 'FUNCTIONS', T: 'TYPES', n: 'SCHEMAS' };

export async function resetDefaultPrivileges(client: pg.Client, schemas: readonly string[], platformRoles: readonly string[]): Promise<number> {
  const rows = await query<{ owner: string; schema: string | null; objtype: string; grantee: string | null }>(
    client,
    'default privileges',
    `SELECT DISTINCT r.rolname::text AS owner, n.nspname::text AS schema, d.defaclobjtype::text AS objtype, g.rolname::text AS grantee
       FROM pg_default_acl d
       JOIN pg_roles r ON r.oid = d.defaclrole
       LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
       CROSS JOIN LATERAL aclexplode(d.defaclacl) a
       LEFT JOIN pg_roles g ON g.oid = a.grantee
      WHERE (d.defaclnamespace = 0 OR n.nspname = ANY($1)) AND pg_has_role(current_user, d.defaclrole, 'MEMBER')`,
    [schemas],
  );
  const ours = rows.filter((row) => !platformRoles.some((p) => globToRegExp(p).test(row.owner)));
  const statements = new Set<string>();
  for (const row of ours) {
    const type = OBJECT_TYPES[row.objtype];
    if (type === undefined) continue;
    const forRole = `ALTER DEFAULT PRIVILEGES FOR ROLE ${ident(row.owner)}${row.schema === null ? '' : ` IN SCHEMA ${ident(row.schema)}`}`;
    statements.add(`${forRole} REVOKE ALL ON ${type} FROM ${row.grantee === null ? 'PUBLIC' : ident(row.grantee)}`);
    if (row.schema !== null) continue;
    // Database-wide entries hold differences from the built-in defaults: granting those back
    // (the owner's own rights; EXECUTE or USAGE to PUBLIC) makes PostgreSQL drop the entry.
    statements.add(`${forRole} GRANT ALL ON ${type} TO ${ident(row.owner)}`);
    if (row.objtype === 'f') statements.add(`${forRole} GRANT EXECUTE ON FUNCTIONS TO PUBLIC`);
    if (row.objtype === 'T') statements.add(`${forRole} GRANT USAGE ON TYPES TO PUBLIC`);
  }
  // Revokes first, grants after: a later REVOKE ALL FROM the owner would undo a grant back.
  const ordered = [...statements].sort((a, b) => Number(a.includes(' GRANT ')) - Number(b.includes(' GRANT ')));
  for (const statement of ordered) await query(client, 'default privileges', statement);
  return ours.length;
}
