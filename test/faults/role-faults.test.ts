import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseConnectionUrl } from '../../src/engine/connection.js';
import { runTool } from '../../src/engine/tools/pg-tools.js';
import { FAULT_ROLE } from '../support/cluster-roles.js';
import { FIXTURE, withPg } from '../support/databases.js';
import { defineFaults, type FaultCase, type FaultRun } from './harness.js';
import { parseJson } from './restore-support.js';

// Roles: a restore creates the roles a backup needs with nothing but NOLOGIN, never changes a role
// that exists, and grants memberships only between roles it created itself — a backup must not
// be a way to hand anyone rights on the cluster it is restored into. Each case makes its own
// roles (names with a random part) and drops them, and the databases that name them, at the end.

interface RoleRow {
  rolname: string;
  rolsuper: boolean;
  rolcreaterole: boolean;
  rolcreatedb: boolean;
  rolreplication: boolean;
  rolbypassrls: boolean;
  rolcanlogin: boolean;
  memberof: string[];
}

async function rolesNamed(adminUrl: string, names: readonly string[]): Promise<Map<string, RoleRow>> {
  const rows = await withPg(
    adminUrl,
    async (c) =>
      (
        await c.query<RoleRow>(
          `SELECT r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls, r.rolcanlogin,
              ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1) AS memberof
         FROM pg_roles r WHERE r.rolname = ANY($1)`,
          [[...names]],
        )
      ).rows,
  );
  return new Map(rows.map((r) => [r.rolname, r]));
}

const noRights = (r: RoleRow | undefined) =>
  r !== undefined && !r.rolsuper && !r.rolcreaterole && !r.rolcreatedb && !r.rolreplication && !r.rolbypassrls && !r.rolcanlogin;

/** Databases and roles a case made, dropped whatever happens (databases first: they hold the grants). */
function cleanup(t: FaultRun) {
  const databases: string[] = [];
  const roles: string[] = [];
  return {
    databases,
    roles,
    async run() {
      await withPg(t.adminUrl, async (c) => {
        for (const db of databases) await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(db)} WITH (FORCE)`).catch(() => undefined);
        for (const role of roles) await c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(role)}`).catch(() => undefined);
      });
    },
  };
}

/** A source granting SELECT on public.settings to each role, backed up with the CLI. */
async function backupGranting(t: FaultRun, roles: readonly string[], extra: string[] = []): Promise<{ dir: string; source: string }> {
  const source = await t.database([FIXTURE]);
  await withPg(source.url, async (c) => {
    for (const role of roles) await c.query(`GRANT SELECT ON public.settings TO ${c.escapeIdentifier(role)}`);
    for (const sql of extra) await c.query(sql);
  });
  const run = await t.cli(['backup-db', '--target', 'staging', '--json'], { env: { DATABASE_URL_STAGING: source.url } });
  const dir = parseJson<{ backupDir?: string }>(run.stdout)?.backupDir;
  if (run.exitCode !== 0 || dir === undefined) throw new Error(`backup failed: ${run.stderr.split('\n')[0]}`);
  return { dir, source: source.name };
}

interface RestoreJson {
  createdRoles?: string[];
  changedRoles?: string[];
  notes?: string[];
  error?: { code: string; message: string };
}

/** roles.sql as restore.sh runs it (psql, no dbops), into a fresh database. */
async function runRolesSql(t: FaultRun, backupDir: string, made: { databases: string[] }): Promise<void> {
  const db = await t.database();
  made.databases.push(db.name);
  await runTool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', path.join(backupDir, 'roles.sql')], {
    connection: parseConnectionUrl(db.url, 'roles.sql'),
  });
}

const suffix = () => randomBytes(4).toString('hex');

const cases: FaultCase[] = [
  {
    name: 'a SUPERUSER role in the backup, missing on the target cluster, with an existing login role as its member',
    category: 'hostile input',
    expected:
      'created NOLOGIN with no other attribute (restore-db and roles.sql alike); the existing login role gains no membership; createdRoles names it, the membership is named as not granted',
    timeoutMs: 240_000,
    async run(t) {
      const s = suffix();
      const [admin, login] = [`dbops_fault_su_${s}`, `dbops_fault_login_${s}`];
      const made = cleanup(t);
      made.roles.push(admin, login);
      try {
        await withPg(t.adminUrl, async (c) => {
          await c.query(`CREATE ROLE ${c.escapeIdentifier(admin)} SUPERUSER CREATEROLE CREATEDB REPLICATION BYPASSRLS NOLOGIN`);
          await c.query(`CREATE ROLE ${c.escapeIdentifier(login)} LOGIN`);
          await c.query(`GRANT ${c.escapeIdentifier(admin)} TO ${c.escapeIdentifier(login)}`);
        });
        const backup = await backupGranting(t, [admin, login]);
        made.databases.push(backup.source);
        // The target cluster: the login role exists, the superuser role does not.
        await withPg(t.adminUrl, async (c) => {
          await c.query(`DROP DATABASE ${c.escapeIdentifier(backup.source)} WITH (FORCE)`);
          await c.query(`DROP ROLE ${c.escapeIdentifier(admin)}`);
        });
        const target = await t.database();
        made.databases.push(target.name);
        const run = await t.cli(['restore-db', backup.dir, '--target', 'dev', '--yes', '--json'], { env: { DATABASE_URL_DEV: target.url } });
        const result = parseJson<RestoreJson>(run.stdout) ?? {};
        const after = await rolesNamed(t.adminUrl, [admin, login]);
        const restoreOk =
          run.exitCode === 0 &&
          noRights(after.get(admin)) &&
          after.get(login)?.rolcanlogin === true &&
          !after.get(login)?.rolsuper &&
          !(after.get(login)?.memberof ?? []).includes(admin);
        const reported =
          (result.createdRoles ?? []).includes(admin) &&
          (result.changedRoles ?? []).length === 0 &&
          (result.notes ?? []).some((n) => n.includes(`${login} in ${admin}`));
        // The same through roles.sql alone, as restore.sh runs it.
        await withPg(t.adminUrl, async (c) => {
          await c.query(`DROP DATABASE ${c.escapeIdentifier(target.name)} WITH (FORCE)`);
          await c.query(`DROP ROLE ${c.escapeIdentifier(admin)}`);
        });
        await runRolesSql(t, backup.dir, made);
        const viaSql = await rolesNamed(t.adminUrl, [admin, login]);
        const sqlOk = noRights(viaSql.get(admin)) && !(viaSql.get(login)?.memberof ?? []).includes(admin) && !viaSql.get(login)?.rolsuper;
        const show = (r: RoleRow | undefined) =>
          r === undefined
            ? 'missing'
            : `${r.rolsuper ? 'SUPERUSER ' : ''}${r.rolcanlogin ? 'LOGIN' : 'NOLOGIN'}${r.rolcreaterole ? ' CREATEROLE' : ''}${r.rolbypassrls ? ' BYPASSRLS' : ''}${r.memberof.length ? ` in ${r.memberof.join(',')}` : ''}`;
        return {
          observed: `restore exit ${run.exitCode}${result.error ? ` (${result.error.code})` : ''}: superuser role ${show(after.get(admin))}, login role ${show(after.get(login))}; reported ${reported ? 'as created, membership not granted' : `WRONGLY (${JSON.stringify({ c: result.createdRoles, ch: result.changedRoles })})`}; roles.sql: ${show(viaSql.get(admin))} / ${show(viaSql.get(login))}`,
          held: restoreOk && reported && sqlOk,
        };
      } finally {
        await made.run();
      }
    },
  },
  {
    name: 'an existing login role that was SUPERUSER (and a member of a group) when the backup was taken',
    category: 'hostile input',
    expected: 'the restore leaves it exactly as the target cluster has it: no SUPERUSER, no membership; nothing created or changed',
    timeoutMs: 240_000,
    async run(t) {
      const s = suffix();
      const [user, group] = [`dbops_fault_was_su_${s}`, `dbops_fault_grp_${s}`];
      const made = cleanup(t);
      made.roles.push(user, group);
      try {
        await withPg(t.adminUrl, async (c) => {
          await c.query(`CREATE ROLE ${c.escapeIdentifier(group)} NOLOGIN`);
          await c.query(`CREATE ROLE ${c.escapeIdentifier(user)} LOGIN SUPERUSER CREATEROLE`);
          await c.query(`GRANT ${c.escapeIdentifier(group)} TO ${c.escapeIdentifier(user)}`);
        });
        const backup = await backupGranting(t, [user, group]);
        made.databases.push(backup.source);
        await withPg(t.adminUrl, async (c) => {
          await c.query(`ALTER ROLE ${c.escapeIdentifier(user)} NOSUPERUSER NOCREATEROLE`);
          await c.query(`REVOKE ${c.escapeIdentifier(group)} FROM ${c.escapeIdentifier(user)}`);
        });
        const before = await rolesNamed(t.adminUrl, [user, group]);
        const target = await t.database();
        made.databases.push(target.name);
        const run = await t.cli(['restore-db', backup.dir, '--target', 'dev', '--yes', '--json'], { env: { DATABASE_URL_DEV: target.url } });
        const result = parseJson<RestoreJson>(run.stdout) ?? {};
        await runRolesSql(t, backup.dir, made);
        const after = await rolesNamed(t.adminUrl, [user, group]);
        const unchanged = JSON.stringify([...before.entries()].sort()) === JSON.stringify([...after.entries()].sort());
        return {
          observed: `restore exit ${run.exitCode}${result.error ? ` (${result.error.code})` : ''}; roles ${unchanged ? 'unchanged' : `CHANGED: ${JSON.stringify(after.get(user))}`}; created ${JSON.stringify(result.createdRoles)}, changed ${JSON.stringify(result.changedRoles)}`,
          held: run.exitCode === 0 && unchanged && (result.createdRoles ?? ['x']).length === 0 && (result.changedRoles ?? ['x']).length === 0,
        };
      } finally {
        await made.run();
      }
    },
  },
  {
    name: 'hostile role names the restore must create (quotes, $dbops$, a newline with a psql meta-command)',
    category: 'hostile input',
    expected:
      'each created with exactly its name, NOLOGIN and nothing else, by restore-db and by roles.sql; their membership granted (both created); nothing in a name runs',
    timeoutMs: 240_000,
    async run(t) {
      const s = suffix();
      const marker = `/tmp/dbops-fault-role-${s}`;
      const names = [
        `f${s}"; ALTER ROLE ${FAULT_ROLE} NOSUPERUSER; --`,
        `f${s} $dbops$; DROP ROLE x; $dbops$ $$`,
        `f${s}\n\\! touch ${marker}\n`,
        `f${s}'; SELECT pg_sleep(0); --`,
      ];
      if (names.some((n) => Buffer.byteLength(n) > 63)) return { observed: 'a test name is longer than 63 bytes', held: false };
      const made = cleanup(t);
      made.roles.push(...names);
      try {
        await withPg(t.adminUrl, async (c) => {
          for (const n of names) await c.query(`CREATE ROLE ${c.escapeIdentifier(n)} NOLOGIN`);
          await c.query(`GRANT ${c.escapeIdentifier(names[0]!)} TO ${c.escapeIdentifier(names[1]!)}`);
        });
        const backup = await backupGranting(t, names);
        made.databases.push(backup.source);
        const dropAll = async (databases: string[]) =>
          withPg(t.adminUrl, async (c) => {
            for (const db of databases) await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(db)} WITH (FORCE)`);
            for (const n of [...names].reverse()) await c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(n)}`);
          });
        await dropAll([backup.source]);
        const target = await t.database();
        made.databases.push(target.name);
        const run = await t.cli(['restore-db', backup.dir, '--target', 'dev', '--yes', '--json'], { env: { DATABASE_URL_DEV: target.url } });
        const result = parseJson<RestoreJson>(run.stdout) ?? {};
        const after = await rolesNamed(t.adminUrl, [...names, FAULT_ROLE]);
        const exact = names.every((n) => noRights(after.get(n)));
        const membership = (after.get(names[1]!)?.memberof ?? []).includes(names[0]!);
        await dropAll([target.name]);
        await runRolesSql(t, backup.dir, made);
        const viaSql = await rolesNamed(t.adminUrl, [...names, FAULT_ROLE]);
        const sqlExact = names.every((n) => noRights(viaSql.get(n))) && (viaSql.get(names[1]!)?.memberof ?? []).includes(names[0]!);
        const intact = after.get(FAULT_ROLE)?.rolsuper === true && viaSql.get(FAULT_ROLE)?.rolsuper === true;
        const ran = existsSync(marker);
        return {
          observed: `restore exit ${run.exitCode}${result.error ? ` (${result.error.code}: ${result.error.message.slice(0, 100)})` : ''}; ${names.filter((n) => after.has(n)).length}/${names.length} created ${exact ? 'NOLOGIN only' : 'WITH OTHER ATTRIBUTES'}, membership ${membership ? 'granted' : 'MISSING'}; roles.sql ${sqlExact ? 'the same' : 'DIFFERENT'}; fault role ${intact ? 'intact' : 'CHANGED'}; marker ${ran ? 'CREATED' : 'absent'}`,
          held: run.exitCode === 0 && exact && membership && sqlExact && intact && !ran && (result.createdRoles ?? []).length === names.length,
        };
      } finally {
        await made.run();
      }
    },
  },
];

defineFaults('roles', cases);
