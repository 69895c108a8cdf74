import path from 'node:path';
import { ident, literal } from '../../src/engine/pg/sql.js';
import { SUPA_POSTGRES_PASSWORD, SUPA_POSTGRES_ROLE } from './cluster-roles.js';
import { PROJECT_ROOT, psqlFile, useTestDatabases, withPg } from './databases.js';

// Databases shaped like Supabase projects, for restores run as a non-superuser role shaped like
// Supabase's `postgres` (dbops_supa_postgres). Each is owned by that role, as a project's database
// belongs to postgres. See test/fixtures/supabase/*.sql for what the layers hold.

export const PLATFORM_SQL = path.join(PROJECT_ROOT, 'test/fixtures/supabase/platform.sql');
export const APP_SQL = path.join(PROJECT_ROOT, 'test/fixtures/supabase/app.sql');

/** Roles whose objects are the platform's; the app's objects belong to dbops_supa_postgres. */
export const PLATFORM_ROLES = ['supabase_admin', 'supabase_auth_admin', 'supabase_storage_admin', 'supabase_realtime_admin', 'pgbouncer'];

export interface ProjectDatabase {
  name: string;
  /** Logs in as the run's admin (a superuser): for setting up and inspecting, never for dbops. */
  adminUrl: string;
  /** Logs in as dbops_supa_postgres: what dbops is given. */
  url: string;
}

export interface SupabaseProjects {
  /** A database with nothing in it, owned by dbops_supa_postgres. */
  empty(): Promise<ProjectDatabase>;
  /** A new project: the platform layer only. */
  newProject(): Promise<ProjectDatabase>;
  /** A project with the app on top: platform, then app. */
  sourceProject(): Promise<ProjectDatabase>;
  /** An exact copy of a project (CREATE DATABASE … TEMPLATE): "the same project" to restore into. */
  copyOf(project: ProjectDatabase): Promise<ProjectDatabase>;
}

export function useSupabaseProjects(prefix: string): SupabaseProjects {
  const dbs = useTestDatabases(prefix);
  const create = async (layers: string[]): Promise<ProjectDatabase> => {
    const db = await dbs.create();
    await withPg(db.url, (c) => c.query(`ALTER DATABASE ${ident(db.name)} OWNER TO ${ident(SUPA_POSTGRES_ROLE)}`));
    for (const file of layers) await psqlFile(db.url, file);
    return { name: db.name, adminUrl: db.url, url: asSupaPostgres(db.url) };
  };
  return {
    copyOf: async (project) => {
      const db = await dbs.create({ template: project.name });
      await withPg(db.url, (c) => c.query(`ALTER DATABASE ${ident(db.name)} OWNER TO ${ident(SUPA_POSTGRES_ROLE)}`));
      return { name: db.name, adminUrl: db.url, url: asSupaPostgres(db.url) };
    },
    empty: () => create([]),
    newProject: () => create([PLATFORM_SQL]),
    sourceProject: () => create([PLATFORM_SQL, APP_SQL]),
  };
}

/** The same database, logging in as dbops_supa_postgres (the password serves scram servers; trust ignores it). */
export function asSupaPostgres(url: string): string {
  const u = new URL(url);
  u.username = SUPA_POSTGRES_ROLE;
  u.password = encodeURIComponent(SUPA_POSTGRES_PASSWORD);
  return u.toString();
}

export interface SmokeCheckResult {
  user: string;
  /** Notes the user sees under RLS, and notes in the table (seen with BYPASSRLS). */
  notesVisible: number;
  notesTotal: number;
  profileCreatedByTrigger: boolean;
}

/**
 * Proves the app works: as `authenticated` with a JWT's claims set, a user sees exactly their own
 * notes that are not archived (permissive and restrictive policies with auth.uid()) and their own
 * profile; inserting into auth.users fires the trigger that creates the profile. Everything runs in
 * transactions that are rolled back. Throws "app smoke check failed: …" on any deviation.
 */
export async function appSmokeCheck(url: string): Promise<SmokeCheckResult> {
  try {
    return await withPg(url, async (c) => {
      const pick = await c.query<{ user_id: string; own_live: string; total: string }>(
        `SELECT n.owner_id::text AS user_id, count(*) FILTER (WHERE NOT n.archived)::text AS own_live,
                (SELECT count(*) FROM public.notes)::text AS total
           FROM public.notes n
          GROUP BY n.owner_id
         HAVING count(*) FILTER (WHERE n.archived) > 0 AND count(*) FILTER (WHERE NOT n.archived) > 0
          ORDER BY n.owner_id LIMIT 1`,
      );
      const chosen = pick.rows[0];
      if (chosen === undefined) throw new Error('no user has both live and archived notes');
      const user = chosen.user_id;
      const expected = Number(chosen.own_live);
      const total = Number(chosen.total);
      if (total <= expected) throw new Error("public.notes holds no other user's rows to hide");

      await c.query('BEGIN');
      try {
        await c.query('SET LOCAL ROLE authenticated');
        await c.query(`SELECT set_config('request.jwt.claim.sub', $1, true), set_config('request.jwt.claims', $2, true)`, [
          user,
          JSON.stringify({ sub: user, role: 'authenticated', aud: 'authenticated' }),
        ]);
        const seen = await c.query<{ visible: string; foreign: string; archived: string; profiles: string }>(
          `SELECT count(*)::text AS visible,
                  count(*) FILTER (WHERE owner_id IS DISTINCT FROM auth.uid())::text AS foreign,
                  count(*) FILTER (WHERE archived)::text AS archived,
                  (SELECT count(*) FROM public.profiles)::text AS profiles
             FROM public.notes`,
        );
        const row = seen.rows[0];
        if (row === undefined) throw new Error('no answer from public.notes');
        if (Number(row.foreign) !== 0) throw new Error(`user ${user} sees ${row.foreign} notes of other users`);
        if (Number(row.archived) !== 0) throw new Error(`user ${user} sees ${row.archived} archived notes (restrictive policy)`);
        if (Number(row.visible) !== expected) throw new Error(`user ${user} sees ${row.visible} notes, expected ${expected}`);
        if (Number(row.profiles) !== 1) throw new Error(`user ${user} sees ${row.profiles} profiles, expected their own`);
      } finally {
        await c.query('ROLLBACK');
      }

      await c.query('BEGIN');
      try {
        const inserted = await c.query<{ id: string }>(
          `INSERT INTO auth.users (id, aud, role, email, raw_user_meta_data, created_at, updated_at)
           VALUES (gen_random_uuid(), 'authenticated', 'authenticated', 'smoke-check@example.invalid', '{"full_name": "Smoke Check"}', now(), now())
           RETURNING id::text`,
        );
        const profile = await c.query<{ full_name: string | null }>('SELECT full_name FROM public.profiles WHERE id = $1', [inserted.rows[0]?.id]);
        if (profile.rows[0]?.full_name !== 'Smoke Check')
          throw new Error('inserting into auth.users did not create the profile (trigger on_auth_user_created)');
      } finally {
        await c.query('ROLLBACK');
      }
      return { user, notesVisible: expected, notesTotal: total, profileCreatedByTrigger: true };
    });
  } catch (error) {
    throw new Error(`app smoke check failed: ${(error as Error).message}`);
  }
}

export interface PlatformSnapshot {
  schemas: Array<{ name: string; oid: number; owner: string; acl: string | null }>;
  relations: Array<{ name: string; kind: string; oid: number; owner: string; acl: string | null; rls: boolean; definition: string }>;
  constraints: Array<{ table: string; name: string; oid: number; definition: string }>;
  triggers: Array<{ table: string; name: string; oid: number; definition: string }>;
  types: Array<{ name: string; oid: number; owner: string; definition: string }>;
  functions: Array<{ signature: string; oid: number; owner: string; acl: string | null; definitionMd5: string }>;
  eventTriggers: Array<{ name: string; oid: number; owner: string; event: string; tags: string | null; function: string; enabled: string }>;
  extensions: Array<{ name: string; oid: number; owner: string; schema: string; version: string }>;
  publications: Array<{ name: string; oid: number; owner: string; flags: string }>;
  defaultAcls: Array<{ role: string; schema: string | null; type: string; acl: string }>;
}

/**
 * What the platform owns, with oids: equal snapshots before and after a restore prove it dropped,
 * re-created and re-owned nothing of the platform's. The app's objects on platform tables
 * (triggers whose function the app owns, policies, publication members) are left out.
 */
export async function platformSnapshot(url: string): Promise<PlatformSnapshot> {
  const roles = `ARRAY[${PLATFORM_ROLES.map(literal).join(', ')}]::name[]`;
  const owned = (column: string) => `pg_get_userbyid(${column}) = ANY (${roles})`;
  return withPg(url, async (c) => {
    const rows = async <T extends object>(sql: string): Promise<T[]> => (await c.query<T>(sql)).rows;
    return {
      schemas: await rows(
        `SELECT nspname AS name, oid::int AS oid, pg_get_userbyid(nspowner) AS owner, nspacl::text AS acl
           FROM pg_namespace WHERE ${owned('nspowner')} ORDER BY 1`,
      ),
      relations: await rows(
        `SELECT format('%I.%I', n.nspname, c.relname) AS name, c.relkind::text AS kind, c.oid::int AS oid,
                pg_get_userbyid(c.relowner) AS owner, c.relacl::text AS acl, c.relrowsecurity AS rls,
                CASE WHEN c.relkind = 'i' THEN pg_get_indexdef(c.oid)
                     ELSE coalesce((SELECT string_agg(format('%I %s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                                                      CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
                                                      coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')), ', ' ORDER BY a.attnum)
                                     FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                                    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') END AS definition
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE ${owned('c.relowner')} AND c.relkind IN ('r', 'p', 'i', 'S', 'v', 'm', 'f') AND n.nspname NOT LIKE 'pg_toast%'
          ORDER BY 1`,
      ),
      constraints: await rows(
        `SELECT c.conrelid::regclass::text AS table, c.conname AS name, c.oid::int AS oid, pg_get_constraintdef(c.oid) AS definition
           FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
          WHERE ${owned('t.relowner')} ORDER BY 1, 2`,
      ),
      triggers: await rows(
        `SELECT t.tgrelid::regclass::text AS table, t.tgname AS name, t.oid::int AS oid, pg_get_triggerdef(t.oid) AS definition
           FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
          WHERE NOT t.tgisinternal AND ${owned('p.proowner')} ORDER BY 1, 2`,
      ),
      types: await rows(
        `SELECT format('%I.%I', n.nspname, t.typname) AS name, t.oid::int AS oid, pg_get_userbyid(t.typowner) AS owner,
                coalesce((SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), t.typtype::text) AS definition
           FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
          WHERE ${owned('t.typowner')} AND t.typtype IN ('e', 'd', 'c') AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
          ORDER BY 1`,
      ),
      functions: await rows(
        `SELECT p.oid::regprocedure::text AS signature, p.oid::int AS oid, pg_get_userbyid(p.proowner) AS owner, p.proacl::text AS acl,
                md5(CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) ELSE p.prosrc END) AS "definitionMd5"
           FROM pg_proc p WHERE ${owned('p.proowner')} ORDER BY 1`,
      ),
      eventTriggers: await rows(
        `SELECT evtname AS name, oid::int AS oid, pg_get_userbyid(evtowner) AS owner, evtevent AS event, evttags::text AS tags,
                evtfoid::regproc::text AS function, evtenabled::text AS enabled
           FROM pg_event_trigger ORDER BY 1`,
      ),
      extensions: await rows(
        `SELECT e.extname AS name, e.oid::int AS oid, pg_get_userbyid(e.extowner) AS owner, n.nspname AS schema, e.extversion AS version
           FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY 1`,
      ),
      publications: await rows(
        `SELECT pubname AS name, oid::int AS oid, pg_get_userbyid(pubowner) AS owner,
                concat_ws(',', CASE WHEN puballtables THEN 'all' END, CASE WHEN pubinsert THEN 'insert' END, CASE WHEN pubupdate THEN 'update' END,
                          CASE WHEN pubdelete THEN 'delete' END, CASE WHEN pubtruncate THEN 'truncate' END, CASE WHEN pubviaroot THEN 'viaroot' END) AS flags
           FROM pg_publication ORDER BY 1`,
      ),
      defaultAcls: await rows(
        `SELECT pg_get_userbyid(d.defaclrole) AS role, n.nspname AS schema, d.defaclobjtype::text AS type, d.defaclacl::text AS acl
           FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
          WHERE ${owned('d.defaclrole')} ORDER BY 1, 2, 3`,
      ),
    };
  });
}
