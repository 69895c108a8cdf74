import { appendFileSync, mkdirSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { useTempDirs } from '../support/backups.js';
import { FAULT_PASSWORD, FAULT_ROLE } from '../support/cluster-roles.js';
import { PROJECT_ROOT, useTestDatabases, withPg } from '../support/databases.js';

// The fault suite: one case = one small object — what is done to dbops, what should happen, and
// a run function that does it and says what did happen. The harness runs each case as a test,
// then greps everything the case wrote (folders it was given, spool, events table rows,
// stdout/stderr, process lines it sampled) for the password, and prints one row per case:
// case | category | expected | observed | data lost | secret leaked. `npm run faults` collects
// the rows of every file into one table ending "faults: N/N held".
//
// To add a case: push an object onto the list a test file passes to defineFaults(). Use
// t.cli()/t.start() to run dbops (their output is grepped), t.dir() for folders (grepped),
// t.database() for databases (reachable as the fault role, with its password in the URL).

export type Category = 'fault' | 'hostile input' | 'secrets' | 'property';

export interface Outcome {
  /** What happened, in a line. */
  observed: string;
  /** The expectation held (the harness adds: and no secret leaked, and no data lost). */
  held: boolean;
  /** Data that existed before the case is gone or half-changed with no way back. */
  dataLost?: boolean;
  /**
   * The case shows a deliberate limit (documented in README's safety section) rather than a fault
   * dbops prevents: what the limit is, in a few words. The row holds, and says so.
   */
  limit?: string;
  /** Shown only when the case does not hold: what a reader needs to find out why (a tool's whole stderr). */
  detail?: string;
}

export interface FaultCase {
  name: string;
  category: Category;
  expected: string;
  /** Where a failure would be fixed, when it is not this suite's own code (printed with a failed row). */
  owner?: string;
  timeoutMs?: number;
  run(t: FaultRun): Promise<Outcome>;
}

export interface CliRun {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface FaultRun {
  /** The password of every URL this suite hands dbops; it must appear nowhere dbops writes. */
  secret: string;
  adminUrl: string;
  /** Environment every dbops run gets: an events database, a spool and a backups directory of this case. */
  env: Record<string, string>;
  backupsDir: string;
  spoolDir: string;
  /** A fresh database, as the fault role with its password in the URL. */
  database(load?: string[]): Promise<{ name: string; url: string }>;
  /** A temporary folder, grepped after the case. */
  dir(): Promise<string>;
  /** Runs the built CLI to the end; its output is grepped. */
  cli(args: readonly string[], options?: { env?: Record<string, string>; cwd?: string; timeoutMs?: number }): Promise<CliRun>;
  /**
   * Starts the built CLI (for kill and signal cases); settle it with t.finish(). detached: in a
   * process group of its own, so process.kill(-pid, 'SIGINT') is a Ctrl-C at its terminal.
   */
  start(args: readonly string[], options?: { env?: Record<string, string>; cwd?: string; detached?: boolean }): ResultPromise;
  finish(child: ResultPromise): Promise<CliRun>;
  /** Text the case saw elsewhere (ps lines, MCP answers), grepped too. */
  record(text: string): void;
}

export const DBOPS_BIN = path.join(PROJECT_ROOT, 'bin/dbops.js');

/** The URL of a database as the fault role, with its password. */
export function faultUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.username = FAULT_ROLE;
  url.password = FAULT_PASSWORD;
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

interface Row {
  file: string;
  name: string;
  category: Category;
  expected: string;
  observed: string;
  dataLost: boolean;
  secretLeaked: boolean;
  held: boolean;
  owner: string | undefined;
  limit?: string | undefined;
}

export function defineFaults(file: string, cases: readonly FaultCase[]): void {
  const dbs = useTestDatabases(`faults_${file.replace(/\W/g, '_')}`.slice(0, 20));
  const tempDir = useTempDirs();
  const rows: Row[] = [];
  let eventsUrl = '';

  beforeAll(async () => {
    eventsUrl = faultUrl(dbs.adminUrl, (await dbs.create()).name);
  });

  afterAll(() => {
    const report = process.env.FAULTS_REPORT_DIR;
    if (report) {
      mkdirSync(report, { recursive: true });
      for (const row of rows) appendFileSync(path.join(report, 'rows.jsonl'), `${JSON.stringify(row)}\n`);
    } else {
      process.stdout.write(`${formatTable(rows)}\n`);
    }
  });

  describe(`faults: ${file}`, () => {
    for (const c of cases) {
      it(c.name, { timeout: c.timeoutMs ?? 120_000 }, async () => {
        const written: string[] = [];
        const texts: string[] = [];
        const backupsDir = await tempDir();
        const spoolDir = await tempDir();
        written.push(backupsDir, spoolDir);
        const env = { DBOPS_EVENTS_URL: eventsUrl, DBOPS_BACKUP_DIR: backupsDir, DBOPS_SPOOL_DIR: spoolDir };
        const finish = async (child: ResultPromise): Promise<CliRun> => {
          const r = await child;
          const run = { exitCode: r.exitCode ?? null, signal: r.signal ?? null, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
          texts.push(run.stdout, run.stderr);
          return run;
        };
        const start = (args: readonly string[], options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number; detached?: boolean } = {}) =>
          execa(process.execPath, [DBOPS_BIN, ...args], {
            reject: false,
            cwd: options.cwd ?? PROJECT_ROOT,
            // The developer's own URLs never reach a case; each case has its own events, spool and backups.
            env: { DATABASE_URL: '', DATABASE_URL_DEV: '', DATABASE_URL_STAGING: '', DATABASE_URL_PROD: '', PGPASSWORD: '', ...env, ...options.env },
            extendEnv: true,
            stdin: 'ignore',
            detached: options.detached === true,
            ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
          }) as ResultPromise;
        const t: FaultRun = {
          secret: FAULT_PASSWORD,
          adminUrl: dbs.adminUrl,
          env,
          backupsDir,
          spoolDir,
          database: async (load) => {
            const db = await dbs.create({ load });
            return { name: db.name, url: faultUrl(dbs.adminUrl, db.name) };
          },
          dir: async () => {
            const d = await tempDir();
            written.push(d);
            return d;
          },
          cli: (args, options) => finish(start(args, options)),
          start,
          finish,
          record: (text) => void texts.push(text),
        };

        let outcome: Outcome;
        try {
          outcome = await c.run(t);
        } catch (error) {
          const e = error as Error;
          outcome = {
            observed: `the case itself failed: ${e.message.replace(/\s+/g, ' ').slice(0, 200)} (${
              e.stack
                ?.split('\n')
                .find((l) => /test\/faults/.test(l))
                ?.trim() ?? 'no stack'
            })`,
            held: false,
          };
        }
        const leaks = await findSecret(FAULT_PASSWORD, written, texts, eventsUrl);
        const row: Row = {
          file,
          name: c.name,
          category: c.category,
          expected: c.expected,
          observed:
            (outcome.limit ? `deliberate limit (README, Safety): ${outcome.limit} — ` : '') +
            outcome.observed +
            (leaks.length ? ` — password found in ${leaks.join(', ')}` : ''),
          dataLost: outcome.dataLost === true,
          secretLeaked: leaks.length > 0,
          held: outcome.held && leaks.length === 0 && outcome.dataLost !== true,
          owner: c.owner,
          limit: outcome.limit,
        };
        rows.push(row);
        if (!row.held) {
          const detail = outcome.detail === undefined ? '' : `\n--- detail ---\n${outcome.detail.slice(0, 4000)}`;
          throw new Error(`fault case did not hold: ${row.observed}${c.owner ? ` (owner: ${c.owner})` : ''}${detail}`);
        }
      });
    }
  });
}

/** Where the password appears: files under the folders, the texts, the events table. */
async function findSecret(secret: string, dirs: string[], texts: string[], eventsUrl: string): Promise<string[]> {
  const found = new Set<string>();
  const needle = Buffer.from(secret);
  for (const dir of dirs) {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (!e.isFile()) continue;
      const file = path.join(e.parentPath, e.name);
      const bytes = await readFile(file).catch(() => undefined);
      if (bytes?.includes(needle)) found.add(path.relative(dir, file));
    }
  }
  if (texts.some((text) => text.includes(secret))) found.add('output');
  const rows = await withPg(eventsUrl, async (c) => {
    const present = await c.query(`SELECT to_regclass('code_ops.artifact_events') IS NOT NULL AS p`);
    if (!present.rows[0]?.p) return [];
    return (await c.query<{ row: string }>(`SELECT e::text AS row FROM code_ops.artifact_events e`)).rows;
  }).catch(() => []);
  if (rows.some((r) => r.row.includes(secret))) found.add('artifact_events');
  return [...found];
}

const yes = (b: boolean) => (b ? 'yes' : 'no');
const resultOf = (r: Row) => (!r.held ? 'FAILED' : r.limit ? 'held (limit)' : 'held');

export function formatTable(rows: readonly Row[]): string {
  const lines = rows.map(
    (r) =>
      `| ${resultOf(r)} | ${r.name} | ${r.category} | ${r.expected} | ${r.observed}${!r.held && r.owner ? ` [owner: ${r.owner}]` : ''} | ${yes(r.dataLost)} | ${yes(r.secretLeaked)} |`,
  );
  return ['| result | case | category | expected | observed | data lost | secret leaked |', '|---|---|---|---|---|---|---|', ...lines].join('\n');
}

// Helpers the cases share.

/** Processes whose parent is pid (pg_dump, pg_restore started by dbops). */
export async function childProcesses(pid: number): Promise<Array<{ pid: number; command: string }>> {
  const r = await execa('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { reject: false });
  return String(r.stdout)
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(.*)$/.exec(l))
    .flatMap((m) => (m ? [{ pid: Number(m[1]), command: m[2]! }] : []));
}

/** Children of pid read from /proc: fast enough (a few ms) to catch a phase that lasts a fraction of a second. */
export async function childrenNow(pid: number): Promise<Array<{ pid: number; command: string }>> {
  const found: Array<{ pid: number; command: string }> = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid !== pid) continue;
    const command = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ').trim();
    if (command !== '') found.push({ pid: Number(entry), command });
  }
  return found;
}

/** Waits until check() returns a value, polling every intervalMs (default 50); undefined after timeoutMs. */
export async function waitQuickly<T>(check: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 5): Promise<T | undefined> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return undefined;
}

/** Waits until check() returns a value, polling every 50 ms; undefined after timeoutMs. */
export async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

/** Every process line on the machine, to grep for the password while dbops and its tools run. */
export async function processLines(): Promise<string> {
  return String((await execa('ps', ['-eo', 'args='], { reject: false })).stdout);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
