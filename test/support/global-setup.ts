import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import pg from 'pg';
import { CLUSTER_ROLES } from './cluster-roles.js';
import { startTestServer, type TestServer } from './server-providers.js';

// Once per test run: pick the server, create the cluster-wide roles the fixtures need (only
// those missing), and on teardown drop exactly the roles this run created.

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    provider: string;
  }
}

let server: TestServer | undefined;
let createdRoles: string[] = [];

// Tests write backups and spooled events into temporary folders, never into the repository's
// own storage/: what is there before the run must be all that is there after it.
const STORAGE = ['storage/backups', 'storage/spool'].map((d) => path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..', d));
const listed = (dir: string) => {
  try {
    return readdirSync(dir)
      .filter((name) => name !== '.gitkeep')
      .map((name) => path.join(dir, name));
  } catch {
    return []; // not there (a fresh clone): nothing to compare
  }
};
const safeEntries = () => STORAGE.flatMap(listed).sort();
let storageBefore: string[] = [];

export async function setup(project: TestProject): Promise<void> {
  storageBefore = safeEntries();
  server = await startTestServer();
  const client = new pg.Client({ connectionString: server.adminUrl });
  await client.connect();
  try {
    for (const role of CLUSTER_ROLES) {
      const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role.name]);
      if (exists.rowCount !== 0) continue;
      const password = role.password === undefined ? '' : ` PASSWORD ${client.escapeLiteral(role.password)}`;
      await client.query(`CREATE ROLE ${client.escapeIdentifier(role.name)} ${role.attributes}${password}`);
      createdRoles.push(role.name);
      for (const group of role.memberOf ?? []) {
        await client.query(`GRANT ${client.escapeIdentifier(group)} TO ${client.escapeIdentifier(role.name)}`);
      }
    }
  } finally {
    await client.end();
  }
  project.provide('adminUrl', server.adminUrl);
  project.provide('provider', server.provider);
  process.stderr.write(`[dbops tests] PostgreSQL from provider "${server.provider}"\n`);
}

export async function teardown(): Promise<void> {
  if (server === undefined) return;
  if (createdRoles.length > 0) {
    const client = new pg.Client({ connectionString: server.adminUrl });
    await client.connect();
    for (const role of [...createdRoles].reverse()) await client.query(`DROP ROLE IF EXISTS ${client.escapeIdentifier(role)}`).catch(() => undefined);
    await client.end();
    createdRoles = [];
  }
  await server.stop();
  const left = safeEntries().filter((e) => !storageBefore.includes(e));
  if (left.length > 0)
    throw new Error(`tests left files in the repository's storage/: ${left.join(', ')} (give the command a temporary DBOPS_BACKUP_DIR / DBOPS_SPOOL_DIR)`);
}
