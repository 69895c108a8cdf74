import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConnectionUrl } from '../../src/engine/connection.js';
import { runTool } from '../../src/engine/tools/pg-tools.js';
import { backupInto, useTempDirs } from '../support/backups.js';
import { DBOPS_BIN, runCli } from '../support/cli.js';
import { FIXTURE, PROJECT_ROOT, useTestDatabases } from '../support/databases.js';

// "Read-only" means the database is left byte for byte as it was: `pg_dump --schema-only` of the
// dev target (where events go by default) before and after a `dbops mcp --read-only` session
// that calls every tool it has, and after the read-only CLI commands. A command that records its
// run (backup-db) is run last against the same target and must change the dump — so the
// comparison is one that can fail.

const dbs = useTestDatabases('read_only');
const tempDir = useTempDirs();

/** A fixed --restrict-key: pg_dump otherwise writes a random one (since 15.14), and nothing else may differ. */
async function schemaDump(url: string): Promise<string> {
  return (await runTool('pg_dump', ['--schema-only', '--restrict-key=dbopsreadonlytest'], { connection: parseConnectionUrl(url, 'dump') })).stdout;
}

describe('read-only leaves the target byte-identical', () => {
  let target: { name: string; url: string };
  let env: Record<string, string>;
  beforeAll(async () => {
    target = await dbs.create({ load: [FIXTURE] });
    const backups = await tempDir();
    await backupInto(target.url, backups);
    env = { DATABASE_URL_DEV: target.url, DBOPS_BACKUP_DIR: backups, DBOPS_SPOOL_DIR: await tempDir() };
  });

  it('an MCP --read-only session calling every tool, then history, list-backups and verify-backup', async () => {
    const before = await schemaDump(target.url);
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [DBOPS_BIN, 'mcp', '--read-only'],
      cwd: PROJECT_ROOT,
      env: { ...(process.env as Record<string, string>), DATABASE_URL: '', DBOPS_EVENTS_URL: '', ...env },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'dbops-read-only-test', version: '1.0.0' });
    await client.connect(transport);
    const tools = (await client.listTools()).tools;
    expect(
      tools.every((t) => t.annotations?.readOnlyHint === true),
      tools.map((t) => t.name).join(', '),
    ).toBe(true);
    const called: string[] = [];
    for (const tool of tools) {
      const args = tool.name === 'artifact_history' ? { target: 'dev' } : {};
      const result = (await client.callTool({ name: tool.name, arguments: args })) as CallToolResult;
      expect(result.isError, `${tool.name}: ${JSON.stringify(result.content)}`).toBeFalsy();
      called.push(tool.name);
    }
    await client.close();
    expect(called.sort()).toEqual(['artifact_history', 'list_backups', 'list_commands', 'verify_backup']);

    for (const args of [
      ['history', '--target', 'dev'],
      ['list-backups'],
      ['verify-backup', 'latest'],
      ['verify-backup', 'latest', '--drill', '--target', 'dev'],
    ]) {
      const run = await runCli(args, { env });
      expect(run.exitCode, `${args.join(' ')}: ${run.stderr}`).toBe(0);
    }
    expect(await schemaDump(target.url)).toBe(before);
  });

  it('the comparison can fail: a backup records its run in the dev target, which adds code_ops', async () => {
    const before = await schemaDump(target.url);
    const run = await runCli(['backup-db', '--target', 'dev', '--quiet'], { env });
    expect(run.exitCode, run.stderr).toBe(0);
    const after = await schemaDump(target.url);
    expect(after).not.toBe(before);
    expect(after).toContain('CREATE TABLE code_ops.artifact_events');
  });
});
