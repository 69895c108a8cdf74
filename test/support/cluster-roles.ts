// Cluster-wide roles the fixtures need. Roles are shared by every database on the server, so the
// test run creates them once (global setup), only where missing, and drops exactly the ones it
// created at the end. Entries are created in order (a role must exist before another joins it)
// and dropped in reverse. Each fixture appends its own roles here.

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
  { name: 'service_role', attributes: 'NOLOGIN' },
  { name: 'dbops_fixture_owner', attributes: 'NOLOGIN' },
];
