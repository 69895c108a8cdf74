import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FRONTMATTER_CACHE_FILE, textDigest, writeFrontmatterCache } from '../../src/loader/frontmatter-cache.js';
import { loadArtifacts } from '../../src/loader/load-artifacts.js';
import { PROJECT_ROOT } from '../support/databases.js';

// The build's cache of gray-matter's parses (dist/frontmatter-cache.json) may only ever stand in
// for parsing the very same text: a changed file is parsed again, a broken cache is ignored,
// and what comes out of the cache is validated like a fresh parse.

let root: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'dbops-fm-cache-'));
  await cp(path.join(PROJECT_ROOT, 'commands'), path.join(root, 'commands'), { recursive: true });
  await cp(path.join(PROJECT_ROOT, 'skills'), path.join(root, 'skills'), { recursive: true });
  await mkdir(path.join(root, 'dist'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function readCache(): Promise<{ format: number; entries: Record<string, { data: Record<string, unknown>; content: string }> }> {
  return JSON.parse(await readFile(path.join(root, FRONTMATTER_CACHE_FILE), 'utf8')) as never;
}

async function editCache(edit: (entries: Record<string, { data: Record<string, unknown>; content: string }>) => void): Promise<void> {
  const cache = await readCache();
  edit(cache.entries);
  await writeFile(path.join(root, FRONTMATTER_CACHE_FILE), JSON.stringify(cache));
}

describe('the frontmatter cache', () => {
  it('holds one entry per file and loads to exactly what parsing gives', async () => {
    const parsed = await loadArtifacts(root);
    expect(await writeFrontmatterCache(root)).toBe(parsed.commands.length + parsed.skills.length);
    expect(await loadArtifacts(root)).toEqual(parsed);
  });

  it('is used for a file whose text is unchanged, and only then', async () => {
    await writeFrontmatterCache(root);
    const file = path.join(root, 'commands/list-backups.md');
    const text = await readFile(file, 'utf8');
    // A cache entry that says something else than the file proves the entry was read.
    await editCache((entries) => {
      entries[textDigest(text)]!.data.description = 'Description from the cache entry';
    });
    expect((await loadArtifacts(root)).commands.find((c) => c.name === 'list-backups')!.frontmatter.description).toBe('Description from the cache entry');

    await writeFile(file, text.replace(/^description: .*$/m, 'description: Edited after the build, so parsed again'));
    expect((await loadArtifacts(root)).commands.find((c) => c.name === 'list-backups')!.frontmatter.description).toBe(
      'Edited after the build, so parsed again',
    );
  });

  it('what comes from the cache is validated like a fresh parse', async () => {
    await writeFrontmatterCache(root);
    const text = await readFile(path.join(root, 'commands/backup-db.md'), 'utf8');
    await editCache((entries) => {
      entries[textDigest(text)]!.data.version = 'one';
    });
    const error = await loadArtifacts(root).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ARTIFACTS_INVALID' });
    // The command drops out, so the others' references to it are reported too.
    expect((error as { details: string[] }).details[0]).toBe('commands/backup-db.md: version: must be a semantic version like 1.0.0');
  });

  it('a broken or foreign cache file is ignored, not an error', async () => {
    const parsed = await loadArtifacts(root);
    for (const content of ['{"format":1,"entries":', '{"format":2,"entries":{}}', '[]', '{"format":1,"entries":{"abc":{"data":{},"content":""}}}']) {
      await writeFile(path.join(root, FRONTMATTER_CACHE_FILE), content);
      expect(await loadArtifacts(root), content).toEqual(parsed);
    }
  });

  it('leaves invalid YAML out, so every load still reports it', async () => {
    await writeFile(path.join(root, 'commands/list-backups.md'), '---\ndescription: [unclosed\n---\nbody\n');
    expect(await writeFrontmatterCache(root)).toBe((await readdirCount(root)) - 1);
    const error = await loadArtifacts(root).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ARTIFACTS_INVALID' });
    expect((error as { details: string[] }).details[0]).toMatch(/^commands\/list-backups\.md: frontmatter is not valid YAML/);
  });

  it('npm run build wrote the package its cache, and it matches the files', async () => {
    const cache = JSON.parse(await readFile(path.join(PROJECT_ROOT, FRONTMATTER_CACHE_FILE), 'utf8')) as { entries: Record<string, unknown> };
    for (const name of ['commands/backup-db.md', 'commands/restore-db.md', 'skills/database-backup-skill/SKILL.md'])
      expect(Object.keys(cache.entries), name).toContain(textDigest(await readFile(path.join(PROJECT_ROOT, name), 'utf8')));
  });
});

async function readdirCount(dir: string): Promise<number> {
  const { readArtifactSources } = await import('../../src/loader/artifact-sources.js');
  return readArtifactSources(dir).length;
}
