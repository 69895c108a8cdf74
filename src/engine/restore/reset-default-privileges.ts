import type pg from 'pg';
import { globToPosixRegex } from '../backup/selection.js';
import { query } from '../pg/client.js';
import { dollarQuoted, literal } from '../pg/sql.js';

// pg_restore --clean drops and re-creates tables, and CREATE TABLE applies the target's
// default privileges (ALTER DEFAULT PRIVILEGES …) to them, before the dump's own ACLs.
// pg_dump writes ACLs as differences from the built-in defaults, so such inherited grants
// would survive the restore. Clearing the target's default privileges in the schemas the backup
// holds — and the database-wide ones, back to PostgreSQL's built-in defaults (a target whose
// FOR ROLE default revokes EXECUTE from PUBLIC would otherwise strip it from every function the
// restore makes) — lets the dump's DEFAULT ACL entries (restored last) take their place.
// Only for roles the restoring role acts for, and never the platform's (supabase_admin's default
// privileges in public belong to the project, and nobody but a superuser may change them).
// One DO block, run by dbops and written into each backup for restore.sh.

export function resetDefaultPrivilegesSql(schemas: readonly string[], platformRoles: readonly string[]): string {
  const array = (values: readonly string[]) => `ARRAY[${values.map(literal).join(', ')}]::text[]`;
  const rows = `SELECT format('ALTER DEFAULT PRIVILEGES FOR ROLE %I', r.rolname) || CASE WHEN d.defaclnamespace = 0 THEN '' ELSE format(' IN SCHEMA %I', n.nspname) END AS for_role,
         CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES' WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES' WHEN 'n' THEN 'SCHEMAS' END AS type,
         d.defaclobjtype AS objtype, d.defaclnamespace = 0 AS global, r.rolname AS owner,
         CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.rolname) END AS grantee
    FROM pg_default_acl d
    JOIN pg_roles r ON r.oid = d.defaclrole
    LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
    CROSS JOIN LATERAL aclexplode(d.defaclacl) a
    LEFT JOIN pg_roles g ON g.oid = a.grantee
   WHERE (d.defaclnamespace = 0 OR n.nspname = ANY (${array(schemas)}))
     AND pg_has_role(current_user, d.defaclrole, 'MEMBER')
     AND NOT r.rolname ~ ANY (${array(platformRoles.map(globToPosixRegex))})`;
  const body = `
DECLARE
  acl record;
  grants text[] := '{}';
BEGIN
  FOR acl IN ${rows} LOOP
    EXECUTE format('%s REVOKE ALL ON %s FROM %s', acl.for_role, acl.type, acl.grantee);
    -- Database-wide entries hold differences from the built-in defaults: granting those back
    -- (the owner's own rights; EXECUTE or USAGE to PUBLIC) makes PostgreSQL drop the entry.
    IF acl.global THEN
      grants := grants || format('%s GRANT ALL ON %s TO %I', acl.for_role, acl.type, acl.owner);
      IF acl.objtype = 'f' THEN grants := grants || format('%s GRANT EXECUTE ON FUNCTIONS TO PUBLIC', acl.for_role); END IF;
      IF acl.objtype = 'T' THEN grants := grants || format('%s GRANT USAGE ON TYPES TO PUBLIC', acl.for_role); END IF;
    END IF;
  END LOOP;
  -- Grants after every revoke: a later REVOKE ALL FROM the owner would undo a grant back.
  FOR i IN 1 .. coalesce(array_length(grants, 1), 0) LOOP
    EXECUTE grants[i];
  END LOOP;
END
`;
  return `DO ${dollarQuoted(body)};\n`;
}

export async function resetDefaultPrivileges(client: pg.Client, schemas: readonly string[], platformRoles: readonly string[]): Promise<void> {
  await query(client, 'default privileges', resetDefaultPrivilegesSql(schemas, platformRoles));
}
