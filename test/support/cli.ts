import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll } from 'vitest';
import { PROJECT_ROOT } from './databases.js';

// Spooled events of this test file's CLI runs land here, never in the repository's storage/.
const SPOOL = mkdtempSync(path.join(tmpdir(), 'dbops-spool-'));
afterAll(() => rmSync(SPOOL, { recursive: true, force: true }));

// Runs the built CLI exactly as a user would (`npm test` builds dist/ first).

export const DBOPS_BIN = path.join(PROJECT_ROOT, 'bin/dbops.js');

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export function startCli(args: readonly string[], options: { env?: Record<string, string>; cwd?: string } = {}): ResultPromise<{ reject: false }> {
  return execa(process.execPath, [DBOPS_BIN, ...args], {
    reject: false,
    cwd: options.cwd ?? PROJECT_ROOT,
    // The developer's own database URLs must never reach a test run.
    env: { DATABASE_URL: '', DATABASE_URL_DEV: '', DATABASE_URL_STAGING: '', DATABASE_URL_PROD: '', DBOPS_EVENTS_URL: '', DBOPS_SPOOL_DIR: SPOOL, ...options.env },
    extendEnv: true,
    stdin: 'ignore',
  }) as ResultPromise<{ reject: false }>;
}

export async function runCli(args: readonly string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliRun> {
  const result = await startCli(args, options);
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}
