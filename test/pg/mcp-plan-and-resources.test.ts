import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_MODULES } from '../../src/commands/index.js';
import { buildRegistry } from '../../src/loader/registry.js';
import { createDbopsMcpServer } from '../../src/mcp/server.js';
import { backupInto, DEFAULT_CONFIG, useTempDirs } from '../support/backups.js';
import { runCli } from '../support/cli.js';
import { FIXTURE, PROJECT_ROOT, useTestDatabases, withPg } from '../support/databases.js';
import { fingerprint } from '../support/fingerprint.js';

// What an agent can learn before it changes anything: restore_db's dry run (the plan, no
// confirmation, nothing touched, not even an event in the target), error codes it can branch on
// (_meta), and each backup's metadata, row counts and schema as resources. The CLI's
// `restore-db --dry-run` is the same call.

const dbs = useTestDatabases('mcp_plan');
const tempDir = useTempDirs();
let client: Client;
let env: Record<string, string>;
let dev: { name: string; url: string };
let folder: string;
let backupsDir: string;

beforeAll(async () => {
  const source = await dbs.create({ load: [FIXTURE] });
  dev = await dbs.create({ load: [FIXTURE] });
  await withPg(dev.url, (c) => c.query(`DELETE FROM public.settings; INSERT INTO public.settings VALUES ('only-in-dev', 'x')`));
  backupsDir = await tempDir();
  folder = path.basename((await backupInto(source.url, backupsDir)).backupDir);
  // Events would go to dev by default: a dry run must not write them there either.
  env = { DATABASE_URL_DEV: dev.url, DBOPS_BACKUP_DIR: backupsDir, DBOPS_SPOOL_DIR: await tempDir() };
  const registry = await buildRegistry(PROJECT_ROOT, COMMAND_MODULES);
  const server = createDbopsMcpServer({
    registry,
    readOnly: false,
    version: '0.1.0',
    context: (signal) => ({ root: PROJECT_ROOT, config: DEFAULT_CONFIG, env, signal }),
  });
  client = new Client({ name: 'dbops-plan-test', version: '1.0.0' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  await client.connect(clientSide);
});

afterAll(async () => {
  await client?.close();
});

describe('restore_db dryRun', () => {
  it('returns the plan without confirm, and leaves the target exactly as it was', async () => {
    const before = await fingerprint(dev.url);
    const r = (await client.callTool({ name: 'restore_db', arguments: { backup: folder, dryRun: true } })) as CallToolResult;
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    const plan = r.structuredContent as {
      kind: string;
      target: { database: string };
      plan: { backup: { folder: string }; objects: { restored: number; keptAsTarget: number; skipped: number } };
    };
    expect(plan).toMatchObject({ kind: 'plan', target: { database: dev.name }, plan: { backup: { folder } } });
    expect(plan.plan.objects.restored).toBeGreaterThan(10);
    expect((r.content[0] as { text: string }).text).toMatch(/^Dry run, nothing changed: /);
    expect(await fingerprint(dev.url)).toEqual(before);
    const schemas = await withPg(dev.url, async (c) => (await c.query<{ n: string }>(`SELECT nspname AS n FROM pg_namespace WHERE nspname = 'code_ops'`)).rows);
    expect(schemas).toEqual([]);
  });

  it('the same from the CLI: --dry-run prints the plan, needs no --yes, changes nothing', async () => {
    const before = await fingerprint(dev.url);
    const run = await runCli(['restore-db', path.join(backupsDir, folder), '--target', 'dev', '--dry-run', '--json'], { env });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, kind: 'plan', target: { name: 'dev', database: dev.name } });
    const text = await runCli(['restore-db', path.join(backupsDir, folder), '--target', 'dev', '--dry-run'], { env });
    expect(text.stdout.split('\n')[0]).toBe('Dry run: this restore would overwrite data. Nothing was changed.');
    expect(await fingerprint(dev.url)).toEqual(before);
  });
});

describe('errors carry their code where a client can branch on it', () => {
  it('in _meta["dbops/error"], with the hint', async () => {
    const r = (await client.callTool({ name: 'restore_db', arguments: { backup: folder, confirm: 'not-the-database' } })) as CallToolResult;
    expect(r.isError).toBe(true);
    expect(r._meta?.['dbops/error']).toEqual({ code: 'CONFIRM_MISMATCH', hint: expect.stringMatching(/exact name of the target database/) });
  });
});

describe('backups as resources', () => {
  it('lists metadata.json, row_counts.json and schema.sql of each valid backup, and reads them', async () => {
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri).sort()).toEqual(['metadata.json', 'row_counts.json', 'schema.sql'].map((f) => `dbops://backups/${folder}/${f}`));
    const read = await client.readResource({ uri: `dbops://backups/${folder}/row_counts.json` });
    const text = (read.contents[0] as { text: string }).text;
    expect(text).toBe(await readFile(path.join(backupsDir, folder, 'row_counts.json'), 'utf8'));
  });

  it('refuses a folder that is not a listed backup and a file that is not one of the three', async () => {
    await expect(client.readResource({ uri: `dbops://backups/${encodeURIComponent('../../etc')}/metadata.json` })).rejects.toThrow(/No valid backup named/);
    await expect(client.readResource({ uri: `dbops://backups/${folder}/restore.sh` })).rejects.toThrow(/a backup's resources are/);
  });
});
