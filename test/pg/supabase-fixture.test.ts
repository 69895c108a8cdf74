import { beforeAll, describe, expect, it } from 'vitest';
import { SUPA_POSTGRES_ROLE } from '../support/cluster-roles.js';
import { psqlFile, tableCounts, withPg } from '../support/databases.js';
import { APP_SQL, appSmokeCheck, platformSnapshot, useSupabaseProjects, type ProjectDatabase } from '../support/supabase-project.js';

// The Supabase-shaped fixture must have the shape the restore tests rely on; if it drifted into
// something friendlier (a superuser, platform objects owned by the restoring role), those tests
// would pass for the wrong reason.

const projects = useSupabaseProjects('supafix');
let source: ProjectDatabase;
let fresh: ProjectDatabase;

beforeAll(async () => {
  [source, fresh] = await Promise.all([projects.sourceProject(), projects.newProject()]);
});

async function one<T extends object>(url: string, sql: string, params: unknown[] = []): Promise<T> {
  const rows = await withPg(url, async (c) => (await c.query<T>(sql, params)).rows);
  if (rows[0] === undefined) throw new Error(`no row from ${sql}`);
  return rows[0];
}

describe('the Supabase-shaped fixture', () => {
  it("has the platform roles with Supabase's attributes, and a postgres-shaped role that is no superuser", async () => {
    // anon, authenticated and service_role are shared with older fixtures (and may outlive a run
    // that other sessions' databases still use), so only the roles this fixture adds are pinned.
    const roles = await withPg(source.adminUrl, async (c) => {
      const r = await c.query<{ rolname: string; attrs: string }>(
        `SELECT rolname, concat_ws(' ', CASE WHEN rolsuper THEN 'super' END, CASE WHEN rolinherit THEN 'inherit' END,
                CASE WHEN rolcreaterole THEN 'createrole' END, CASE WHEN rolcreatedb THEN 'createdb' END, CASE WHEN rolcanlogin THEN 'login' END,
                CASE WHEN rolreplication THEN 'replication' END, CASE WHEN rolbypassrls THEN 'bypassrls' END) AS attrs
           FROM pg_roles WHERE rolname = ANY ($1) ORDER BY 1`,
        [['supabase_admin', 'supabase_auth_admin', 'supabase_storage_admin', 'authenticator', SUPA_POSTGRES_ROLE]],
      );
      return Object.fromEntries(r.rows.map((row) => [row.rolname, row.attrs]));
    });
    expect(roles).toEqual({
      authenticator: 'login',
      [SUPA_POSTGRES_ROLE]: 'inherit createrole createdb login replication bypassrls',
      supabase_admin: 'super inherit createrole createdb login replication bypassrls',
      supabase_auth_admin: 'login',
      supabase_storage_admin: 'createrole login',
    });
    const membership = await one<Record<string, boolean>>(
      source.adminUrl,
      `SELECT pg_has_role($1, 'anon', 'MEMBER') AS anon, pg_has_role($1, 'authenticated', 'MEMBER') AS authenticated,
              pg_has_role($1, 'service_role', 'MEMBER') AS service_role, pg_has_role($1, 'supabase_auth_admin', 'MEMBER') AS auth_admin,
              pg_has_role($1, 'supabase_storage_admin', 'MEMBER') AS storage_admin, pg_has_role($1, 'supabase_admin', 'MEMBER') AS supabase_admin`,
      [SUPA_POSTGRES_ROLE],
    );
    expect(membership).toEqual({ anon: true, authenticated: true, service_role: true, auth_admin: true, storage_admin: true, supabase_admin: false });
  });

  it('logs in as dbops_supa_postgres through the URL the tests hand to dbops', async () => {
    expect(await one(source.url, 'SELECT current_user AS "user", (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS super')).toEqual({
      user: SUPA_POSTGRES_ROLE,
      super: false,
    });
  });

  it("gives the database and public to dbops_supa_postgres, and the platform to the platform's roles", async () => {
    const owners = await one<Record<string, string>>(
      fresh.adminUrl,
      `SELECT (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()) AS database,
              (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public') AS public,
              (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'auth') AS auth,
              (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'storage') AS storage,
              (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'extensions') AS extensions,
              (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'auth.users'::regclass) AS auth_users,
              (SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE oid = 'auth.uid()'::regprocedure) AS auth_uid,
              (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'storage.objects'::regclass) AS storage_objects,
              (SELECT pg_get_userbyid(extowner) FROM pg_extension WHERE extname = 'pg_stat_statements') AS pg_stat_statements,
              (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'extensions.pg_stat_statements'::regclass) AS pg_stat_statements_view,
              (SELECT pg_get_userbyid(pubowner) FROM pg_publication WHERE pubname = 'supabase_realtime') AS publication`,
    );
    expect(owners).toEqual({
      database: SUPA_POSTGRES_ROLE,
      public: 'pg_database_owner',
      auth: 'supabase_admin',
      storage: 'supabase_admin',
      extensions: 'supabase_admin',
      auth_users: 'supabase_auth_admin',
      auth_uid: 'supabase_auth_admin',
      storage_objects: 'supabase_storage_admin',
      pg_stat_statements: 'supabase_admin',
      pg_stat_statements_view: 'supabase_admin',
      publication: SUPA_POSTGRES_ROLE,
    });
    const extensions = await withPg(fresh.adminUrl, async (c) =>
      (
        await c.query<{ name: string }>(
          `SELECT extname AS name FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE n.nspname = 'extensions' ORDER BY 1`,
        )
      ).rows.map((r) => r.name),
    );
    expect(extensions).toEqual(['pg_stat_statements', 'pgcrypto', 'uuid-ossp']);
  });

  it("enables RLS on the storage tables and closes the services' bookkeeping to postgres", async () => {
    const rls = await one<Record<string, boolean>>(
      fresh.adminUrl,
      `SELECT bool_and(relrowsecurity) AS storage, (SELECT relrowsecurity FROM pg_class WHERE oid = 'auth.users'::regclass) AS auth_users
         FROM pg_class WHERE oid IN ('storage.objects'::regclass, 'storage.buckets'::regclass, 'storage.migrations'::regclass)`,
    );
    expect(rls).toEqual({ storage: true, auth_users: true });
    // Direct grants only: membership in the service roles (the supautils stand-in) reaches further.
    const grantees = await withPg(
      fresh.adminUrl,
      async (c) =>
        (
          await c.query<{ rel: string; grantees: string[] }>(
            `SELECT c.oid::regclass::text AS rel, array_agg(DISTINCT pg_get_userbyid(a.grantee) ORDER BY pg_get_userbyid(a.grantee))::text[] AS grantees
           FROM pg_class c, aclexplode(c.relacl) a
          WHERE c.oid IN ('auth.schema_migrations'::regclass, 'storage.migrations'::regclass, 'auth.users'::regclass, 'storage.objects'::regclass)
          GROUP BY 1 ORDER BY 1`,
          )
        ).rows,
    );
    expect(grantees).toEqual([
      { rel: 'auth.schema_migrations', grantees: ['supabase_auth_admin'] },
      { rel: 'auth.users', grantees: ['dashboard_user', SUPA_POSTGRES_ROLE, 'supabase_auth_admin'] },
      { rel: 'storage.migrations', grantees: ['supabase_storage_admin'] },
      { rel: 'storage.objects', grantees: ['anon', 'authenticated', SUPA_POSTGRES_ROLE, 'service_role', 'supabase_storage_admin'] },
    ]);
    const rows = await one<{ auth: string; storage: string }>(
      fresh.adminUrl,
      'SELECT (SELECT count(*) FROM auth.schema_migrations)::text AS auth, (SELECT count(*) FROM storage.migrations)::text AS storage',
    );
    expect(rows).toEqual({ auth: '40', storage: '30' });
  });

  it('has the event triggers, owned by supabase_admin with their functions in extensions, which dbops_supa_postgres cannot drop', async () => {
    const triggers = await withPg(
      fresh.adminUrl,
      async (c) =>
        (
          await c.query<{ name: string; owner: string; fn: string; fn_owner: string }>(
            `SELECT e.evtname AS name, pg_get_userbyid(e.evtowner) AS owner, e.evtfoid::regproc::text AS fn, pg_get_userbyid(p.proowner) AS fn_owner
           FROM pg_event_trigger e JOIN pg_proc p ON p.oid = e.evtfoid ORDER BY 1`,
          )
        ).rows,
    );
    expect(triggers.map((t) => t.name)).toEqual([
      'issue_graphql_placeholder',
      'issue_pg_cron_access',
      'issue_pg_graphql_access',
      'issue_pg_net_access',
      'pgrst_ddl_watch',
      'pgrst_drop_watch',
    ]);
    for (const t of triggers) expect(t).toMatchObject({ owner: 'supabase_admin', fn: expect.stringMatching(/^extensions\./), fn_owner: 'supabase_admin' });
    await expect(withPg(fresh.url, (c) => c.query('DROP EVENT TRIGGER pgrst_drop_watch'))).rejects.toThrow('must be owner of event trigger pgrst_drop_watch');
    await expect(withPg(fresh.url, (c) => c.query('ALTER EVENT TRIGGER pgrst_ddl_watch DISABLE'))).rejects.toThrow(/must be owner of event trigger/);
  });

  it("has supabase_admin's default privileges in public, which dbops_supa_postgres may not change", async () => {
    const acls = await withPg(
      fresh.adminUrl,
      async (c) =>
        (
          await c.query<{ role: string; type: string; grantees: string[] }>(
            `SELECT pg_get_userbyid(d.defaclrole) AS role, d.defaclobjtype::text AS type,
                array_agg(pg_get_userbyid(a.grantee) ORDER BY pg_get_userbyid(a.grantee))::text[] AS grantees
           FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a
          WHERE n.nspname = 'public' AND a.privilege_type IN ('SELECT', 'EXECUTE')
          GROUP BY 1, 2 ORDER BY 1, 2`,
          )
        ).rows,
    );
    expect(acls).toEqual([
      { role: SUPA_POSTGRES_ROLE, type: 'S', grantees: ['anon', 'authenticated', 'service_role'] },
      { role: SUPA_POSTGRES_ROLE, type: 'f', grantees: ['anon', 'authenticated', 'service_role'] },
      { role: SUPA_POSTGRES_ROLE, type: 'r', grantees: ['anon', 'authenticated', 'service_role'] },
      { role: 'supabase_admin', type: 'S', grantees: ['anon', 'authenticated', SUPA_POSTGRES_ROLE, 'service_role'] },
      { role: 'supabase_admin', type: 'f', grantees: ['anon', 'authenticated', SUPA_POSTGRES_ROLE, 'service_role'] },
      { role: 'supabase_admin', type: 'r', grantees: ['anon', 'authenticated', SUPA_POSTGRES_ROLE, 'service_role'] },
    ]);
    // What a restore that resets default privileges runs into on a project (issue 10).
    await expect(
      withPg(fresh.url, (c) => c.query('ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public REVOKE ALL ON TABLES FROM anon')),
    ).rejects.toThrow(/permission denied|must be member of role/);
  });

  it('lets the app work on the source project: RLS by auth.uid(), and the profile trigger on auth.users', async () => {
    const before = await one<{ users: string; profiles: string }>(
      source.adminUrl,
      'SELECT (SELECT count(*) FROM auth.users)::text AS users, (SELECT count(*) FROM public.profiles)::text AS profiles',
    );
    const result = await appSmokeCheck(source.url);
    expect(result).toMatchObject({ profileCreatedByTrigger: true, notesTotal: 72 });
    expect(result.notesVisible).toBeGreaterThan(0);
    expect(result.notesVisible).toBeLessThan(6);
    // The smoke check leaves nothing behind.
    expect(
      await one(source.adminUrl, 'SELECT (SELECT count(*) FROM auth.users)::text AS users, (SELECT count(*) FROM public.profiles)::text AS profiles'),
    ).toEqual(before);
    expect(before).toEqual({ users: '12', profiles: '12' });
  });

  it('fails the smoke check on a new project, which has no app', async () => {
    await expect(appSmokeCheck(fresh.url)).rejects.toThrow(/^app smoke check failed: relation "public.notes" does not exist/);
  });

  it('holds a few hundred rows, the transient conversations in a two-level partition tree', async () => {
    const rows = Object.values(await tableCounts(source.adminUrl)).reduce((a, b) => a + b, 0);
    expect(rows).toBeGreaterThan(300);
    expect(rows).toBeLessThan(1000);
    const shape = await one<{ leaves: string; depth: number; realtime: string }>(
      source.adminUrl,
      `SELECT (SELECT count(*) FROM pg_partition_tree('public.conversations') WHERE isleaf)::text AS leaves,
              (SELECT max(level) FROM pg_partition_tree('public.conversations')) AS depth,
              (SELECT string_agg(format('%s%s', tablename, coalesce(' (' || array_to_string(attnames, ', ') || ')', '')), '; ' ORDER BY tablename)
                 FROM pg_publication_tables WHERE pubname = 'supabase_realtime') AS realtime`,
    );
    expect(shape).toMatchObject({ leaves: '4', depth: 2 });
    expect(shape.realtime).toContain('tasks (id, status, updated_at)');
  });

  it('snapshots what the platform owns: unchanged by the app layer, changed by re-owning one function', async () => {
    const project = await projects.newProject();
    const before = await platformSnapshot(project.adminUrl);
    expect(before.eventTriggers).toHaveLength(6);
    expect(before.relations.map((r) => r.name)).toEqual(expect.arrayContaining(['auth.users', 'storage.objects', 'auth.users_pkey']));
    expect(before.functions.map((f) => f.signature)).toEqual(
      expect.arrayContaining(['auth.uid()', 'extensions.crypt(text,text)', 'extensions.pgrst_ddl_watch()']),
    );
    await psqlFile(project.adminUrl, APP_SQL);
    expect(await platformSnapshot(project.adminUrl)).toEqual(before);
    await withPg(project.adminUrl, (c) => c.query(`ALTER FUNCTION auth.uid() OWNER TO ${SUPA_POSTGRES_ROLE}`));
    expect(await platformSnapshot(project.adminUrl)).not.toEqual(before);
  });
});
