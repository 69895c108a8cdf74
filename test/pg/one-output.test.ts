import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { COMMAND_MODULES } from '../../src/commands/index.js';
import { loadConfig } from '../../src/engine/config.js';
import { buildRegistry } from '../../src/loader/registry.js';
import { createDbopsMcpServer } from '../../src/mcp/server.js';
import { useTempDirs } from '../support/backups.js';
import { runCli } from '../support/cli.js';
import { FIXTURE, PROJECT_ROOT, useTestDatabases } from '../support/databases.js';

// One output schema per command: a backup taken with `--json` and one taken by an agent over MCP
// come back as the same object — the same keys at every depth, the same values wherever two
// backups of one database cannot differ (only the folder, times and sizes do).

const dbs = useTestDatabases('one_output');
const tempDir = useTempDirs();

/** Every key path of a JSON value, arrays by their first element. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.length === 0 ? [`${prefix}[]`] : keyPaths(value[0], `${prefix}[]`);
  if (value === null || typeof value !== 'object') return [prefix];
  return Object.entries(value)
    .flatMap(([k, v]) => keyPaths(v, prefix === '' ? k : `${prefix}.${k}`))
    .sort();
}

const VARYING = ['backupDir', 'folder', 'createdAt', 'durationsMs', 'sizes'];
const stable = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([k]) => !VARYING.includes(k)));

describe('backup-db: --json and MCP structuredContent', () => {
  it('are the same object (the CLI adds only ok: true)', async () => {
    const source = await dbs.create({ load: [FIXTURE] });
    const env = { DATABASE_URL_STAGING: source.url, DBOPS_BACKUP_DIR: await tempDir(), DBOPS_SPOOL_DIR: await tempDir() };

    const cli = await runCli(['backup-db', '--target', 'staging', '--no-transient', '--json', '--quiet'], { env });
    expect(cli.exitCode, cli.stderr).toBe(0);
    const { ok, ...fromCli } = JSON.parse(cli.stdout) as Record<string, unknown>;
    expect(ok).toBe(true);

    const registry = await buildRegistry(PROJECT_ROOT, COMMAND_MODULES);
    const config = loadConfig(PROJECT_ROOT, {}).config;
    const server = createDbopsMcpServer({ registry, readOnly: false, version: '0.1.0', context: (signal) => ({ root: PROJECT_ROOT, config, env, signal }) });
    const client = new Client({ name: 'one-output', version: '1.0.0' });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(b);
    await client.connect(a);
    const r = (await client.callTool({ name: 'backup_db', arguments: { target: 'staging', exclude: ['transient'] } })) as CallToolResult;
    await client.close();
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    const fromMcp = r.structuredContent as Record<string, unknown>;

    expect(keyPaths(fromMcp)).toEqual(keyPaths(fromCli));
    expect(stable(fromMcp)).toEqual(stable(fromCli));
    expect(fromMcp.folder).not.toBe(fromCli.folder);
  });
});
