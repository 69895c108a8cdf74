import type pg from 'pg';
import { query } from '../pg/client.js';
import { globToRegExp } from '../backup/selection.js';
import { ident } from '../pg/sql.js';

// pg_restore --clean drops and re-creates tables, and CREATE TABLE applies the target's
// default privileges (ALTER DEFAULT PRIVILEGES … IN SCHEMA) to them, before the dump's own ACLs.
// pg_dump writes ACLs as differences from the built-in defaults, so such inherited grants
// would survive the restore. Clearing the target's schema-scoped default privileges in the
// schemas the backup holds lets the dump's DEFAULT ACL entries (restored last) take their place.
// Only for roles the restoring role acts for, and never the platform's (supabase_admin's default
// privileges in public belong to the project, and nobody but a superuser may change them).

const OBJECT_TYPES: Record<string, string> = { r: 'TABLES', S: 'SEQUENCES', f: 'FUNCTIONS', T: 'TYPES', n: 'SCHEMAS' };

export async function resetDefaultPrivileges(client: pg.Client, schemas: readonly string[], platformRoles: readonly string[]): Promise<number> {
  const rows = await query<{ owner: string; schema: string; objtype: string; grantee: string | null }>(
    client,
    'default privileges',
    `SELECT DISTINCT r.rolname AS owner, n.nspname AS schema, d.defaclobjtype AS objtype, g.rolname AS grantee
       FROM pg_default_acl d
       JOIN pg_roles r ON r.oid = d.defaclrole
       JOIN pg_namespace n ON n.oid = d.defaclnamespace
       CROSS JOIN LATERAL aclexplode(d.defaclacl) a
       LEFT JOIN pg_roles g ON g.oid = a.grantee
      WHERE n.nspname = ANY($1) AND pg_has_role(current_user, d.defaclrole, 'MEMBER')`,
    [schemas],
  );
  const ours = rows.filter((row) => !platformRoles.some((p) => globToRegExp(p).test(row.owner)));
  for (const row of ours) {
    const type = OBJECT_TYPES[row.objtype];
    if (type === undefined) continue;
    await query(
      client,
      'default privileges',
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${ident(row.owner)} IN SCHEMA ${ident(row.schema)} REVOKE ALL ON ${type} FROM ${row.grantee === null ? 'PUBLIC' : ident(row.grantee)}`,
    );
  }
  return ours.length;
}
