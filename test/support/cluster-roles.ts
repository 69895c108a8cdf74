// Cluster-wide roles the fixtures need. Roles are shared by every database on the server, so the
// test run creates them once (global setup), only where missing, and drops exactly the ones it
// created at the end. Entries are created in order (a role must exist before another joins it)
// and dropped in reverse. Each fixture appends its own roles here.

/** The role shaped like Supabase's `postgres`, and its password (a throwaway, for the embedded server's scram). */
export const SUPA_POSTGRES_ROLE = 'dbops_supa_postgres';
export const SUPA_POSTGRES_PASSWORD = 'dbops-supa-postgres-test-only';

export interface ClusterRole {
  name: string;
  /** Role attributes as SQL, e.g. 'NOLOGIN' or 'LOGIN NOSUPERUSER CREATEDB'. */
  attributes: string;
  /** Roles this one is made a member of after creation. */
  memberOf?: string[];
  /** A LOGIN role's password (only for servers that ask for one: the embedded provider). */
  password?: string;
}

export const CLUSTER_ROLES: ClusterRole[] = [
  { name: 'anon', attributes: 'NOLOGIN' },
  { name: 'authenticated', attributes: 'NOLOGIN' },
  { name: 'service_role', attributes: 'NOLOGIN BYPASSRLS' },
  { name: 'dbops_fixture_owner', attributes: 'NOLOGIN' },

  // The platform roles of a Supabase project (test/fixtures/supabase/platform.sql), with the
  // attributes and memberships supabase/postgres gives them. None has a password: only
  // dbops_supa_postgres logs in during the tests.
  { name: 'supabase_admin', attributes: 'LOGIN SUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS' },
  { name: 'authenticator', attributes: 'LOGIN NOINHERIT', memberOf: ['anon', 'authenticated', 'service_role'] },
  // CREATEROLE was taken from the auth service in 2026 (migration 20260821154147).
  { name: 'supabase_auth_admin', attributes: 'LOGIN NOINHERIT NOCREATEROLE' },
  { name: 'supabase_storage_admin', attributes: 'LOGIN NOINHERIT CREATEROLE', memberOf: ['authenticator'] },
  { name: 'supabase_realtime_admin', attributes: 'LOGIN NOINHERIT CREATEROLE REPLICATION', memberOf: ['anon', 'authenticated', 'service_role'] },
  { name: 'supabase_functions_admin', attributes: 'LOGIN NOINHERIT CREATEROLE' },
  { name: 'supabase_replication_admin', attributes: 'LOGIN REPLICATION' },
  { name: 'supabase_etl_admin', attributes: 'LOGIN REPLICATION', memberOf: ['pg_read_all_data'] },
  { name: 'supabase_read_only_user', attributes: 'LOGIN BYPASSRLS', memberOf: ['pg_read_all_data', 'pg_monitor'] },
  { name: 'dashboard_user', attributes: 'NOLOGIN CREATEDB CREATEROLE REPLICATION' },
  { name: 'pgbouncer', attributes: 'LOGIN' },
  // Supabase's `postgres`, under another name because the cluster has a real postgres superuser:
  // no superuser, but the memberships a project gives it. Supabase lets postgres manage policies
  // on, and drop triggers of, auth and storage tables through supautils (supautils.policy_grants,
  // supautils.drop_trigger_grants), which vanilla PostgreSQL lacks; the stand-in is membership in
  // supabase_auth_admin and supabase_storage_admin, which is how projects did it before 2024
  // (migration 20220609081115). It must never be a member of supabase_admin.
  {
    name: SUPA_POSTGRES_ROLE,
    attributes: 'LOGIN NOSUPERUSER INHERIT CREATEDB CREATEROLE REPLICATION BYPASSRLS',
    password: SUPA_POSTGRES_PASSWORD,
    memberOf: [
      'anon',
      'authenticated',
      'service_role',
      'authenticator',
      'pg_monitor',
      'pg_read_all_data',
      'pg_signal_backend',
      'supabase_realtime_admin',
      'supabase_auth_admin',
      'supabase_storage_admin',
    ],
  },
  // test/fixtures/torture.sql: owners and grantees whose names need quoting.
  { name: 'dbops_torture_owner', attributes: 'NOLOGIN' },
  { name: 'dbops torture "role" with spaces', attributes: 'NOLOGIN' },
  { name: "dbops_torture_o'brien", attributes: 'NOLOGIN' },
  { name: 'dbops_torture_rôle_ünï_日本', attributes: 'NOLOGIN' },
  { name: 'DbopsTorture_MixedCase', attributes: 'NOLOGIN', memberOf: ['dbops_torture_owner'] },
  { name: 'user', attributes: 'NOLOGIN' },
  { name: 'dbops_torture_role_with_a_name_of_exactly_sixty_three_bytes_xxx', attributes: 'NOLOGIN' },
];

/** The fault suite connects as this role with this password, then greps everything written for it. */
export const FAULT_ROLE = 'dbops_fault_user';
export const FAULT_PASSWORD = 'Fault-pw-9d2b7e';
CLUSTER_ROLES.push({ name: FAULT_ROLE, attributes: 'LOGIN SUPERUSER', password: FAULT_PASSWORD });
/** A role whose name is an attack on anything that pastes names into SQL or shell (fault suite). */
export const FAULT_HOSTILE_ROLE = `dbops_fault_r'"; DROP ROLE x; --$(touch /tmp/dbops-pwn)`;
CLUSTER_ROLES.push({ name: FAULT_HOSTILE_ROLE, attributes: 'NOLOGIN' });
