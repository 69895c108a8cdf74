import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PACKAGE_ROOT } from '../cli/paths.js';
import { libpqEnv, parseConnectionUrl, type ConnectionSpec } from '../engine/connection.js';
import { startEmbeddedServer } from '../engine/pg/embedded-server.js';
import { ident } from '../engine/pg/sql.js';
import { dbnameArg, runTool } from '../engine/tools/pg-tools.js';
import { BENCH_CONFIG, buildBenchDatabase, CRITICAL_TABLES } from './bench-database.js';
import { folderBytes, machineBusyMs, median, megabytes, rssProbeOptions, seconds, timeProcess, type Timed } from './measure.js';

// `npm run bench`: figures, not assertions. A database shaped like issue 13's is built the same
// way every time at --scale megabytes (default 800, --quick 150); then, alternating A and B in
// every round so neither always runs on a warmer machine, and taking medians:
//   backup:  raw `pg_dump -Fd -j2 -Z1`  vs  `dbops backup-db` (every artifact, content hashes)
//            and the old script's path (`pg_dump | gzip` + the critical tables \copy'd to CSV);
//   restore: raw `pg_restore -j2` of the raw dump into an empty database  vs  `dbops restore-db
//            --verify content` of the dbops backup into an empty one (no safety backup: it is empty);
//   start-up: `node bin/dbops.js --help`.
// dbops runs as the real CLI (a child process), its peak RSS reported by rss-probe.ts. The last
// line is the summary the issue asks for. Server: BENCH_DATABASE_URL or TEST_DATABASE_URL (an
// admin URL), else an embedded PostgreSQL.

export interface BenchOptions {
  megabytes: number;
  runs: number;
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const flagValue = (flag: string) => {
    const at = argv.indexOf(flag);
    if (at < 0) return undefined;
    const value = Number(argv[at + 1]);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${flag} takes a positive whole number`);
    return value;
  };
  return { megabytes: flagValue('--scale') ?? (quick ? 150 : 800), runs: flagValue('--runs') ?? 3 };
}

const SOURCE = 'dbops_bench_src';
const EVENTS = 'dbops_bench_events';
const RAW_TARGET = 'dbops_bench_raw_dst';
const DBOPS_TARGET = 'dbops_bench_dbops_dst';
const DATABASES = [SOURCE, EVENTS, RAW_TARGET, DBOPS_TARGET];

interface Row {
  step: string;
  times: number[];
  /** CPU time the machine spent in each run (every core: server, tools and dbops). */
  cpu: number[];
  size?: string | undefined;
}

export async function runBench(options: BenchOptions): Promise<void> {
  const line = (text = '') => process.stdout.write(`${text}\n`);
  const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  const embedded = adminUrl ? undefined : await startEmbeddedServer();
  const admin = adminUrl ?? embedded!.adminUrl;
  const urlOf = (database: string) => {
    const url = new URL(admin);
    url.pathname = `/${database}`;
    return url.toString();
  };
  const specOf = (database: string): ConnectionSpec => parseConnectionUrl(urlOf(database), 'bench server');
  const adminQuery = async (sql: string) => {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const freshDatabase = async (name: string) => {
    await adminQuery(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
    await adminQuery(`CREATE DATABASE ${ident(name)}`);
  };
  const work = await mkdtemp(path.join(os.tmpdir(), 'dbops-bench-'));
  const dist = path.join(PACKAGE_ROOT, 'dist');
  const cli = path.join(PACKAGE_ROOT, 'bin', 'dbops.js');
  const rssFile = path.join(work, 'rss');
  const configFile = path.join(work, 'dbops.config.yaml');
  await writeFile(configFile, BENCH_CONFIG);
  const dbopsEnv = (url: string): NodeJS.ProcessEnv => ({
    ...process.env,
    DBOPS_CONFIG: configFile,
    DBOPS_SPOOL_DIR: path.join(work, 'spool'),
    DBOPS_BACKUP_DIR: path.join(work, 'backups'),
    // Invocation history into a database of its own, so the source stays the same from run to run.
    DBOPS_EVENTS_URL: urlOf(EVENTS),
    DBOPS_BENCH_URL: url,
    DBOPS_BENCH_RSS_FILE: rssFile,
    NODE_OPTIONS: [process.env.NODE_OPTIONS, rssProbeOptions(dist)].filter(Boolean).join(' '),
  });

  const load = () =>
    os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(' ');
  line(`== machine: ${os.availableParallelism()} cores (nproc), ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB memory, load ${load()}; node ${process.version}`);
  try {
    const rows: Row[] = [];
    const rss: number[] = [];

    // Start-up: one run to warm the file cache, then the median of eleven; and a command that
    // does nothing (lists an empty backups folder), for what loading a command costs.
    const { DATABASE_URL: _database, DBOPS_EVENTS_URL: _events, ...quiet } = process.env;
    const noopEnv = { ...quiet, DBOPS_CONFIG: configFile, DBOPS_SPOOL_DIR: path.join(work, 'spool'), DBOPS_BACKUP_DIR: path.join(work, 'empty') };
    await mkdir(noopEnv.DBOPS_BACKUP_DIR);
    await timeProcess(process.execPath, [cli, '--help']);
    const help: number[] = [];
    const noop: number[] = [];
    // The floor: what this machine's Node takes to run a module that does nothing.
    const empty = path.join(work, 'empty.mjs');
    await writeFile(empty, 'export {};\n');
    const floor: number[] = [];
    for (let i = 0; i < 11; i++) {
      help.push((await timeProcess(process.execPath, [cli, '--help'])).ms);
      noop.push((await timeProcess(process.execPath, [cli, 'list-backups', '--json'], { env: noopEnv })).ms);
      floor.push((await timeProcess(process.execPath, [empty])).ms);
    }

    for (const name of DATABASES) await freshDatabase(name);
    const t0 = performance.now();
    const dbBytes = await buildBenchDatabase(urlOf(SOURCE), options.megabytes);
    const server = (await runTool('psql', ['-X', '-At', '-c', 'SHOW server_version'], { connection: specOf(SOURCE) })).stdout.trim();
    line(
      `== database: ${megabytes(dbBytes)} (--scale ${options.megabytes}), built in ${seconds(performance.now() - t0)} on PostgreSQL ${server} at ${embedded ? 'an embedded server' : `${specOf(SOURCE).host}:${specOf(SOURCE).port}`}; critical tables ${CRITICAL_TABLES.join(', ')}`,
    );
    line(`== ${options.runs} rounds of each comparison, A and B alternating`);

    // Backups.
    const raw: number[] = [];
    const dbops: number[] = [];
    const old: number[] = [];
    const [rawCpu, dbopsCpu, oldCpu] = [[], [], []] as number[][];
    const phases: Record<string, number[]> = {};
    let rawDir = '';
    let dbopsDir = '';
    let rawBytes = 0;
    let dbopsBytes = 0;
    const runRaw = async (round: number) => {
      const dir = path.join(work, `raw-${round}`);
      const started = performance.now();
      const cpuStarted = machineBusyMs();
      await runTool('pg_dump', ['-Fd', '-j2', '-Z1', '-f', dir], { connection: specOf(SOURCE) });
      raw.push(performance.now() - started);
      rawCpu!.push(machineBusyMs() - cpuStarted);
      rawBytes = await folderBytes(dir);
      if (rawDir !== '') await rm(rawDir, { recursive: true, force: true });
      rawDir = dir;
    };
    const runDbops = async (round: number) => {
      const out = path.join(work, `dbops-${round}`);
      const timed = await timeProcess(process.execPath, [cli, 'backup-db', '--url-env', 'DBOPS_BENCH_URL', '--out', out, '--json'], {
        env: dbopsEnv(urlOf(SOURCE)),
        rssFile,
      });
      const result = JSON.parse(timed.stdout) as { backupDir: string; sizes: { backupBytes: number }; durationsMs: Record<string, number> };
      dbops.push(timed.ms);
      dbopsCpu!.push(timed.cpuMs);
      record(rss, timed);
      for (const [k, v] of Object.entries(result.durationsMs)) (phases[k] ??= []).push(v);
      dbopsBytes = await folderBytes(result.backupDir);
      if (dbopsDir !== '') await rm(path.dirname(dbopsDir), { recursive: true, force: true });
      dbopsDir = result.backupDir;
    };
    const runOld = async (round: number) => {
      const dir = path.join(work, `old-${round}`);
      await rm(dir, { recursive: true, force: true });
      await runTool('psql', ['-X', '-q', '-c', 'SELECT 1'], { connection: specOf(SOURCE) });
      const copies = CRITICAL_TABLES.map((t) => `psql -X -q --no-password -c "\\copy ${t} TO '${dir}/${t}.csv' WITH (FORMAT csv, HEADER true)"`);
      const script = `set -eo pipefail; mkdir -p '${dir}'; pg_dump --no-password | gzip > '${dir}/backup.sql.gz'; ${copies.join('; ')}`;
      const timed = await timeProcess('bash', ['-c', script], { env: { ...process.env, ...libpqEnv(specOf(SOURCE)) } });
      old.push(timed.ms);
      oldCpu!.push(timed.cpuMs);
      await rm(dir, { recursive: true, force: true });
    };
    for (let round = 0; round < options.runs; round++) {
      if (round % 2 === 0) {
        await runRaw(round);
        await runDbops(round);
      } else {
        await runDbops(round);
        await runRaw(round);
      }
      await runOld(round);
      line(`   backup round ${round + 1}: raw ${seconds(raw.at(-1)!)}, dbops ${seconds(dbops.at(-1)!)}, old script ${seconds(old.at(-1)!)} (load ${load()})`);
    }
    rows.push({ step: 'raw `pg_dump -Fd -j2 -Z1`', times: raw, cpu: rawCpu!, size: megabytes(rawBytes) });
    rows.push({ step: '`dbops backup-db` (every artifact, content hashes, CSVs gzipped)', times: dbops, cpu: dbopsCpu!, size: megabytes(dbopsBytes) });
    rows.push({ step: 'old script: `pg_dump | gzip` + 2 `\\copy` CSVs', times: old, cpu: oldCpu! });

    // Restores, each into an empty database.
    const rawRestore: number[] = [];
    const dbopsRestore: number[] = [];
    const countsRestore: number[] = [];
    const [rawRestoreCpu, dbopsRestoreCpu, countsRestoreCpu] = [[], [], []] as number[][];
    let verified = true;
    const restoreRaw = async () => {
      await freshDatabase(RAW_TARGET);
      const started = performance.now();
      const cpuStarted = machineBusyMs();
      await runTool('pg_restore', ['-j2', dbnameArg(RAW_TARGET), rawDir], { connection: specOf(RAW_TARGET) });
      rawRestore.push(performance.now() - started);
      rawRestoreCpu!.push(machineBusyMs() - cpuStarted);
    };
    const restoreDbops = async (verify: 'content' | 'counts') => {
      await freshDatabase(DBOPS_TARGET);
      const timed = await timeProcess(
        process.execPath,
        [cli, 'restore-db', dbopsDir, '--url-env', 'DBOPS_BENCH_URL', '--yes', '--no-safety-backup', '--verify', verify, '--json'],
        { env: dbopsEnv(urlOf(DBOPS_TARGET)), rssFile },
      );
      const result = JSON.parse(timed.stdout) as { verified?: boolean; verification?: { contentChecked?: boolean } };
      verified &&= result.verified === true && result.verification?.contentChecked === (verify === 'content');
      (verify === 'content' ? dbopsRestore : countsRestore).push(timed.ms);
      (verify === 'content' ? dbopsRestoreCpu! : countsRestoreCpu!).push(timed.cpuMs);
      record(rss, timed);
    };
    for (let round = 0; round < options.runs; round++) {
      if (round % 2 === 0) {
        await restoreRaw();
        await restoreDbops('content');
        await restoreDbops('counts');
      } else {
        await restoreDbops('counts');
        await restoreDbops('content');
        await restoreRaw();
      }
      line(
        `   restore round ${round + 1}: raw ${seconds(rawRestore.at(-1)!)}, dbops --verify content ${seconds(dbopsRestore.at(-1)!)}, --verify counts ${seconds(countsRestore.at(-1)!)} (load ${load()})`,
      );
    }
    rows.push({ step: 'raw `pg_restore -j2` into an empty database', times: rawRestore, cpu: rawRestoreCpu! });
    rows.push({
      step: `\`dbops restore-db --verify content\` into an empty database (${verified ? 'verified: counts and content hashes' : 'NOT VERIFIED'})`,
      times: dbopsRestore,
      cpu: dbopsRestoreCpu!,
    });
    rows.push({ step: '`dbops restore-db` (default `--verify counts`) into an empty database', times: countsRestore, cpu: countsRestoreCpu! });

    line();
    line('| step | median | min | max | size | CPU, whole machine (median) |');
    line('|---|---|---|---|---|---|');
    for (const row of rows)
      line(
        `| ${row.step} | ${seconds(median(row.times))} | ${seconds(Math.min(...row.times))} | ${seconds(Math.max(...row.times))} | ${row.size ?? ''} | ${seconds(median(row.cpu))} |`,
      );
    line(`| \`node bin/dbops.js --help\` | ${median(help).toFixed(0)} ms | ${Math.min(...help).toFixed(0)} ms | ${Math.max(...help).toFixed(0)} ms | | |`);
    line(
      `| \`node bin/dbops.js list-backups\` (empty folder: loading a command) | ${median(noop).toFixed(0)} ms | ${Math.min(...noop).toFixed(0)} ms | ${Math.max(...noop).toFixed(0)} ms | | |`,
    );
    line(
      `| \`node empty.mjs\` (this machine's floor: a module that does nothing) | ${median(floor).toFixed(0)} ms | ${Math.min(...floor).toFixed(0)} ms | ${Math.max(...floor).toFixed(0)} ms | | |`,
    );
    line();
    line(
      `dbops backup phases (median ms, they overlap): ${Object.entries(phases)
        .map(([k, v]) => `${k} ${median(v).toFixed(0)}`)
        .join(', ')}`,
    );
    line(`dbops peak RSS: ${rss.map((r) => r.toFixed(0)).join(', ')} MB (backups, then restores); load at the end ${load()}`);
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    // Where the machine is busy through a run, wall time cannot fall below CPU time / cores:
    // these say how much more work dbops does than the raw tools, whatever the clock says.
    // machineBusyMs sums every CPU the machine has (other work on it included), so divide by all of them.
    const cores = os.cpus().length;
    const busy = (cpu: number[], times: number[]) => `${((100 * median(cpu)) / (cores * median(times))).toFixed(0)}%`;
    line(
      `cpu: backup ${ratio(median(dbopsCpu!), median(rawCpu!))}x raw's CPU time (machine ${busy(dbopsCpu!, dbops)} busy vs ${busy(rawCpu!, raw)}), ` +
        `restore ${ratio(median(dbopsRestoreCpu!), median(rawRestoreCpu!))}x (machine ${busy(dbopsRestoreCpu!, dbopsRestore)} busy vs ${busy(rawRestoreCpu!, rawRestore)}), ${cores} cores`,
    );
    line(
      `backup_vs_raw=${ratio(median(dbops), median(raw))} restore_vs_raw=${ratio(median(dbopsRestore), median(rawRestore))} ` +
        `vs_old_script=${ratio(median(dbops), median(old))} help_ms=${median(help).toFixed(0)} peak_rss_mb=${Math.max(...rss).toFixed(0)} ` +
        `backup_bytes_vs_raw=${ratio(dbopsBytes, rawBytes)}`,
    );
    if (!verified) process.exitCode = 1;
  } finally {
    for (const name of DATABASES) await adminQuery(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`).catch(() => undefined);
    await embedded?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

function record(rss: number[], timed: Timed): void {
  if (timed.rssMb === undefined) throw new Error('a dbops process reported no peak RSS (rss-probe.js not loaded?)');
  rss.push(timed.rssMb);
}
