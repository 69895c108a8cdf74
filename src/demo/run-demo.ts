import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PACKAGE_ROOT } from '../cli/paths.js';
import { parseConnectionUrl, withDatabase } from '../engine/connection.js';
import { findLatestBackup } from '../engine/folder/scan.js';
import { DbopsError, toDbopsError } from '../engine/errors.js';
import { startEmbeddedServer, type EmbeddedServer } from '../engine/pg/embedded-server.js';
import { runTool, toolVersion } from '../engine/tools/pg-tools.js';
import { buildRegistry } from '../loader/registry.js';
import { runCommandLine, runSlashLine } from '../cli/run-command.js';
import { COMMAND_MODULES } from '../commands/index.js';

// `npm run demo`: the whole product on a throwaway embedded PostgreSQL — seed a Supabase-shaped
// database, /backup-db --no-transient, list and verify, /restore-db into a second database,
// and the invocation history. Never touches a database of the user's; cleans up on any exit.

const FIXTURE = path.join(PACKAGE_ROOT, 'test/fixtures/supabase-shaped.sql');
// A few MB more rows, so the demo moves real data.
const GROW = `
INSERT INTO rag_data.documents (agent_id, body, embedding)
SELECT 1 + g % 12, repeat(md5(g::text) || ' ', 40), ARRAY[g::real, (g * 2)::real] FROM generate_series(1, 8000) g;
INSERT INTO public.observability_events (payload) SELECT jsonb_build_object('i', g, 'h', md5(g::text)) FROM generate_series(1, 20000) g;`;

function step(n: number, title: string): void {
  process.stdout.write(`\n━━ ${n}/7 ${title}\n`);
}

async function checkTools(): Promise<void> {
  try {
    const version = await toolVersion('pg_dump');
    if (version.major < 15) throw new DbopsError('TOOL_TOO_OLD', `pg_dump ${version.text} is older than the demo's PostgreSQL 15.`);
  } catch (error) {
    const e = toDbopsError(error);
    if (e.code === 'TOOL_MISSING' || e.code === 'TOOL_TOO_OLD') throw e;
    throw new DbopsError('TOOL_MISSING', `pg_dump could not be run: ${e.message}`);
  }
}

export async function runDemo(): Promise<number> {
  if (process.env.DATABASE_URL) {
    throw new DbopsError('USAGE', 'DATABASE_URL is set: the demo never touches your database.', {
      hint: 'Unset it for the demo (env -u DATABASE_URL npm run demo), or use the real commands: npx dbops backup-db, npx dbops restore-db.',
    });
  }
  await checkTools();
  const started = Date.now();
  const work = await mkdtemp(path.join(tmpdir(), 'dbops-demo-'));
  let server: EmbeddedServer | undefined;
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    step(1, 'starting an embedded PostgreSQL 15 in a temporary directory');
    server = await startEmbeddedServer();
    const admin = parseConnectionUrl(server.adminUrl, 'embedded server');
    process.stdout.write(`   server on 127.0.0.1:${admin.port}, data in a temporary directory\n`);

    step(2, 'seeding a Supabase-shaped database (auth users, RLS, realtime, core/org/transient data)');
    const client = new pg.Client({ connectionString: server.adminUrl });
    await client.connect();
    try {
      for (const role of ['anon', 'authenticated', 'service_role', 'dbops_fixture_owner'])
        await client.query(`CREATE ROLE ${client.escapeIdentifier(role)} NOLOGIN`);
      await client.query('CREATE DATABASE demo_app');
      await client.query('CREATE DATABASE demo_restored');
    } finally {
      await client.end();
    }
    const app = withDatabase(admin, 'demo_app');
    await runTool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', FIXTURE], { connection: app });
    await runTool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', GROW], { connection: app });
    const size = await runTool('psql', ['-X', '-At', '-c', 'SELECT pg_size_pretty(pg_database_size(current_database()))'], { connection: app });
    process.stdout.write(`   demo_app: ${size.stdout}\n`);

    // The demo's own world: its server as the staging and dev targets, its own backups and spool.
    const url = (db: string) => server!.adminUrl.replace(/\/postgres$/, `/${db}`);
    Object.assign(process.env, {
      DATABASE_URL_STAGING: url('demo_app'),
      DATABASE_URL_DEV: url('demo_restored'),
      DBOPS_EVENTS_URL: url('demo_app'),
      DBOPS_BACKUP_DIR: path.join(work, 'backups'),
      DBOPS_SPOOL_DIR: path.join(work, 'spool'),
    });
    const registry = await buildRegistry(PACKAGE_ROOT, COMMAND_MODULES);

    step(3, '/backup-db --no-transient (through the loader, as the slash command runs)');
    if ((await runSlashLine(registry, '/backup-db --no-transient', controller.signal)) !== 0) throw new Error('backup failed');

    step(4, 'listing and verifying the backups');
    await runCommandLine(registry.find('list-backups')!, [], 'cli', controller.signal);
    if ((await runCommandLine(registry.find('verify-backup')!, ['latest'], 'cli', controller.signal)) !== 0) throw new Error('verification failed');

    step(5, '/restore-db <the backup> into a second database (demo_restored, the dev target)');
    const folder = (await findLatestBackup(path.join(work, 'backups'))).handle.dir;
    if ((await runSlashLine(registry, `/restore-db ${folder} --yes`, controller.signal)) !== 0) throw new Error('restore failed');

    step(6, 'invocation history from code_ops.artifact_events');
    await runCommandLine(registry.find('history')!, [], 'cli', controller.signal);

    step(7, 'stopping the server and removing its temporary directory');
    process.stdout.write(
      `\nDemo finished in ${((Date.now() - started) / 1000).toFixed(1)} s. Next: point DATABASE_URL_DEV at a database of yours and run npx dbops backup-db --target dev.\n`,
    );
    return 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  }
}
