import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freeFolderName, publishFolder } from '../../src/engine/folder/publish.js';
import { partialFolderName } from '../../src/engine/folder/layout.js';
import { useTempDirs } from '../support/backups.js';

// Two backups of one target in the same second: each publishes under its own name, none is lost.

describe('backup folder names', () => {
  const tempDir = useTempDirs();
  const createdAt = new Date('2026-11-23T07:15:02.123Z');

  async function finished(parent: string, name: string, pid: number): Promise<string> {
    const dir = path.join(parent, partialFolderName(name, pid));
    await mkdir(dir);
    await writeFile(path.join(dir, 'metadata.json'), `{"pid":${pid}}`);
    return dir;
  }

  it('a name another run is still writing counts as taken', async () => {
    const parent = await tempDir();
    await finished(parent, '20261123_071502_prod', 1);
    expect(await freeFolderName(parent, createdAt, 'prod', undefined)).toBe('20261123_071503_prod');
  });

  it('two runs that chose the same name both publish, the second under the next free second', async () => {
    const parent = await tempDir();
    const naming = { createdAt, target: 'prod', label: 'same' };
    const chosen = await freeFolderName(parent, createdAt, 'prod', 'same');
    const [a, b] = [await finished(parent, chosen, 1), await finished(parent, chosen, 2)];
    // The next second is taken already by a third backup: the name after it is used.
    await mkdir(path.join(parent, '20261123_071503_prod_same'));
    await writeFile(path.join(parent, '20261123_071503_prod_same', 'metadata.json'), '{}');
    const first = await publishFolder(a, parent, chosen, naming);
    const second = await publishFolder(b, parent, chosen, naming);
    expect(first.folder).toBe('20261123_071502_prod_same');
    expect(second.folder).toBe('20261123_071504_prod_same');
    expect((await readdir(parent)).sort()).toEqual(['20261123_071502_prod_same', '20261123_071503_prod_same', '20261123_071504_prod_same']);
  });
});
