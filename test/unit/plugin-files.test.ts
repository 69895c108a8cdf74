import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { COMMAND_MODULES } from '../../src/commands/index.js';
import { buildRegistry } from '../../src/loader/registry.js';
import { PROJECT_ROOT } from '../support/databases.js';

// The files that make the repository a Claude Code plugin and a marketplace, and the committed
// one-file bundle the plugin runs (a plugin install runs no build).

const json = async <T>(file: string) => JSON.parse(await readFile(path.join(PROJECT_ROOT, file), 'utf8')) as T;

describe('plugin files', () => {
  it('plugin.json has what `claude plugin validate --strict` asks for, and agrees with package.json', async () => {
    const plugin = await json<Record<string, unknown>>('.claude-plugin/plugin.json');
    const pkg = await json<{ name: string; version: string; license: string }>('package.json');
    expect(plugin).toMatchObject({ name: pkg.name, version: pkg.version, license: pkg.license, author: { name: expect.any(String) } });
    expect(plugin.keywords).toEqual(expect.arrayContaining(['postgresql', 'supabase', 'backup']));
    expect(String(plugin.description).length).toBeGreaterThan(20);
  });

  it('marketplace.json lists this repository as the one plugin, at its root', async () => {
    const market = await json<{ name: string; owner: { name: string }; plugins: Array<{ name: string; source: string; version: string }> }>(
      '.claude-plugin/marketplace.json',
    );
    const pkg = await json<{ version: string }>('package.json');
    expect(market.owner.name).toBeTruthy();
    expect(market.plugins).toEqual([expect.objectContaining({ name: 'dbops', source: './', version: pkg.version })]);
  });

  it('.mcp.json starts a file that is in the repository, with node, wherever the plugin root is', async () => {
    const mcp = await json<{ mcpServers: Record<string, { command: string; args: string[] }> }>('.mcp.json');
    expect(mcp.mcpServers.dbops).toEqual({ command: 'node', args: ['${CLAUDE_PLUGIN_ROOT:-.}/bin/dbops.js', 'mcp'] });
    const tracked = (await execa('git', ['ls-files', 'bin', '.claude-plugin'], { cwd: PROJECT_ROOT })).stdout.split('\n');
    expect(tracked).toEqual(expect.arrayContaining(['bin/dbops.js', 'bin/dbops', 'bin/launch-built.js', '.claude-plugin/bundle/dbops.mjs']));
  });

  it('every command that deletes or overwrites has disable-model-invocation', async () => {
    const registry = await buildRegistry(PROJECT_ROOT, COMMAND_MODULES);
    for (const { name, doc, command } of registry.commands) {
      if (command.mcp?.annotations.destructiveHint) expect(doc.frontmatter['disable-model-invocation'], name).toBe(true);
    }
    expect(registry.find('prune-backups')!.doc.frontmatter['disable-model-invocation']).toBe(true);
  });

  it('the committed bundle is what `npm run bundle` builds from the sources now', async () => {
    const fresh = path.join(tmpdir(), `dbops-bundle-${process.pid}.mjs`);
    await execa(process.execPath, [path.join(PROJECT_ROOT, 'scripts/bundle.mjs'), '--check', fresh], { cwd: PROJECT_ROOT });
    const [built, committed] = await Promise.all([readFile(fresh), readFile(path.join(PROJECT_ROOT, '.claude-plugin/bundle/dbops.mjs'))]);
    expect(built.equals(committed), 'the bundle is stale: run `npm run bundle` and commit .claude-plugin/bundle/dbops.mjs').toBe(true);
  }, 60_000);
});
