import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCommandSummaries } from '../../src/cli/help-index.js';
import { loadArtifacts } from '../../src/loader/load-artifacts.js';
import { PROJECT_ROOT } from '../support/databases.js';

// `dbops --help` reads two frontmatter lines per command instead of loading the validating
// loader; what it reads must be what the loader reads, and anything unusual goes to the loader.

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function commandsDir(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'dbops-help-'));
  dirs.push(root);
  await mkdir(path.join(root, 'commands'));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(root, 'commands', name), text);
  return root;
}

describe('help index', () => {
  it('reads the same description and argument hint as the loader, for every shipped command', async () => {
    const full = (await loadArtifacts(PROJECT_ROOT)).commands;
    const quick = readCommandSummaries(PROJECT_ROOT);
    expect(quick).toEqual(
      full.map((c) => ({ name: c.name, frontmatter: { description: c.frontmatter.description, 'argument-hint': c.frontmatter['argument-hint'] } })),
    );
  });

  it('reads plain, single- and double-quoted one-line scalars', async () => {
    const root = await commandsDir({
      'a.md': `---\ndescription: Plain words, even with 'quotes' and "doubles"\nargument-hint: "[--x N] \\"quoted\\""\n---\nbody\n`,
      'b.md': `---\ndescription: 'It''s single-quoted'\nargument-hint: ''\n---\n`,
    });
    expect(readCommandSummaries(root)).toEqual([
      { name: 'a', frontmatter: { description: `Plain words, even with 'quotes' and "doubles"`, 'argument-hint': '[--x N] "quoted"' } },
      { name: 'b', frontmatter: { description: "It's single-quoted", 'argument-hint': '' } },
    ]);
  });

  it('leaves anything else to the full loader', async () => {
    for (const frontmatter of [
      'description: >\n  folded\nargument-hint: x',
      'description: has a # comment\nargument-hint: x',
      'description: [a, list]\nargument-hint: x',
      'description: "unterminated\nargument-hint: x',
      'argument-hint: only the hint',
    ]) {
      expect(readCommandSummaries(await commandsDir({ 'c.md': `---\n${frontmatter}\n---\n` })), frontmatter).toBeUndefined();
    }
    expect(readCommandSummaries(await commandsDir({ 'd.md': 'no frontmatter\n' }))).toBeUndefined();
  });
});
