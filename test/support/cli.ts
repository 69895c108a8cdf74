import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll } from 'vitest';
import { PROJECT_ROOT } from './databases.js';

// Spooled events of this test file's CLI runs land here, never in the repository's storage/;
// so do backups a run makes without saying where (a restore's pre-restore snapshot).
const SPOOL = mkdtempSync(path.join(tmpdir(), 'dbops-spool-'));
const BACKUPS = mkdtempSync(path.join(tmpdir(), 'dbops-cli-backups-'));
afterAll(() => {
  rmSync(SPOOL, { recursive: true, force: true });
  rmSync(BACKUPS, { recursive: true, force: true });
});

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
    env: {
      DATABASE_URL: '',
      DATABASE_URL_DEV: '',
      DATABASE_URL_STAGING: '',
      DATABASE_URL_PROD: '',
      DBOPS_EVENTS_URL: '',
      DBOPS_SPOOL_DIR: SPOOL,
      DBOPS_BACKUP_DIR: BACKUPS,
      ...options.env,
    },
    extendEnv: true,
    stdin: 'ignore',
  }) as ResultPromise<{ reject: false }>;
}

/** A timestamped progress line, as the CLI writes them to stderr when it is not a terminal. */
export const PROGRESS_LINE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z [a-z-]+: /;

/** stderr without the progress lines (and any continuation line of one that held a newline). */
export function withoutProgress(stderr: string): string {
  const kept: string[] = [];
  let inProgress = false;
  for (const line of stderr.split('\n')) {
    if (PROGRESS_LINE.test(line)) inProgress = true;
    else if (inProgress && line !== '' && !/^(error \[|\S+ received|putting)/.test(line) && !/^[A-Z]/.test(line)) continue;
    else inProgress = false;
    if (!inProgress) kept.push(line);
  }
  return kept.join('\n').trim();
}

export async function runCli(args: readonly string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliRun & { progress: string[] }> {
  const result = await startCli(args, options);
  const stderr = String(result.stderr);
  return {
    exitCode: result.exitCode ?? -1,
    stdout: String(result.stdout),
    stderr: withoutProgress(stderr),
    progress: stderr.split('\n').filter((l) => PROGRESS_LINE.test(l)),
  };
}
