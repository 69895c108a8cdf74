import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { backupDatabase, type BackupOptions } from '../../src/engine/backup/backup.js';
import { loadConfig, type Config } from '../../src/engine/config.js';
import type { EngineContext } from '../../src/engine/context.js';
import { parseConnectionUrl } from '../../src/engine/connection.js';
import { runTool } from '../../src/engine/tools/pg-tools.js';
import { PROJECT_ROOT } from './databases.js';

/** A temporary directory removed after the test file. */
export function useTempDirs(): () => Promise<string> {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  return async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dbops-test-'));
    dirs.push(dir);
    return dir;
  };
}

// The project's shipped dbops.config.yaml: its categories (core, org_data, transient) fit the fixtures.
export const DEFAULT_CONFIG: Config = loadConfig(PROJECT_ROOT, {}).config;

export function engineContext(overrides: Partial<EngineContext> = {}): EngineContext {
  return { root: PROJECT_ROOT, config: DEFAULT_CONFIG, env: {}, ...overrides };
}

export async function backupInto(url: string, out: string, options: Partial<BackupOptions> = {}, ctx: Partial<EngineContext> = {}) {
  return backupDatabase({ url, out, ...options }, engineContext(ctx));
}

/** pg_restore of a backup's dump alone into a database. */
export async function restoreDumpInto(backupDir: string, url: string): Promise<void> {
  await runTool('pg_restore', ['--exit-on-error', '--jobs=2', '--dbname', parseConnectionUrl(url, 'test').database, path.join(backupDir, 'dump')], {
    connection: parseConnectionUrl(url, 'test'),
  });
}
