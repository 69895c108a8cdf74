import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import { afterAll } from 'vitest';
import { backupDatabase, type BackupOptions } from '../../src/engine/backup/backup.js';
import { loadConfig, type Config } from '../../src/engine/config.js';
import type { EngineContext } from '../../src/engine/context.js';
import { parseConnectionUrl } from '../../src/engine/connection.js';
import { qualifiedName } from '../../src/engine/pg/sql.js';
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

/**
 * A backup's dump restored with pg_restore alone, plus the critical tables' rows, which only
 * their CSVs hold (metadata.json loadFromCsv): tables, rows, the CSVs by psql's COPY, then
 * indexes and keys — restore.sh's order, with PostgreSQL's tools only.
 */
export async function restoreDumpInto(backupDir: string, url: string): Promise<void> {
  const connection = parseConnectionUrl(url, 'test');
  const restore = (...args: string[]) =>
    runTool('pg_restore', ['--exit-on-error', ...args, '--dbname', connection.database, path.join(backupDir, 'dump')], { connection });
  await restore('--section=pre-data');
  await restore('--section=data', '--jobs=2');
  const manifest = JSON.parse(await readFile(path.join(backupDir, 'metadata.json'), 'utf8')) as {
    criticalTables: Array<{ schema: string; table: string; file: string; loadFromCsv?: boolean }>;
  };
  for (const t of manifest.criticalTables.filter((c) => c.loadFromCsv === true)) {
    await runTool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `COPY ${qualifiedName(t)} FROM STDIN WITH (FORMAT csv, HEADER true)`], {
      connection,
      input: createReadStream(path.join(backupDir, t.file)).pipe(createGunzip()),
    });
  }
  await restore('--section=post-data', '--jobs=2');
}
