import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTempDirs } from '../support/backups.js';
import { FIXTURE, PROJECT_ROOT, useTestDatabases } from '../support/databases.js';

// Every ```sh block of the README runs here, in order, against the test server, so the README
// cannot rot. Blocks that need a reader's own database are written ```shell and are not run.

const dbs = useTestDatabases('readme');
const tempDir = useTempDirs();
let env: Record<string, string>;

async function shBlocks(): Promise<string[]> {
  const readme = await readFile(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  return [...readme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!.trim());
}

beforeAll(async () => {
  const [staging, prod, dev, events] = [await dbs.create({ load: [FIXTURE] }), await dbs.create({ load: [FIXTURE] }), await dbs.create(), await dbs.create()];
  env = {
    DATABASE_URL: '',
    DATABASE_URL_STAGING: staging.url,
    DATABASE_URL_PROD: prod.url,
    DATABASE_URL_DEV: dev.url,
    DBOPS_EVENTS_URL: events.url,
    DBOPS_BACKUP_DIR: await tempDir(),
    DBOPS_SPOOL_DIR: await tempDir(),
  };
});

describe('README shell examples', () => {
  it('has examples to run', async () => {
    expect((await shBlocks()).length).toBeGreaterThanOrEqual(6);
  });

  it('each ```sh block runs and succeeds, in order', async () => {
    for (const block of await shBlocks()) {
      expect(block, 'the README must not run the test suite or the demo from itself').not.toMatch(/npm (test|run demo|install)/);
      const run = await execa('bash', ['-c', `set -euo pipefail\n${block}`], { cwd: PROJECT_ROOT, env, reject: false, stdin: 'ignore' });
      expect(run.exitCode, `${block}\n--- stderr:\n${String(run.stderr)}`).toBe(0);
    }
  });
});
