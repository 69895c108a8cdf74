import { spawn } from 'node:child_process';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// Timing and sizing helpers for the benchmark: wall time of a child process, its peak RSS when
// it is a dbops process (rss-probe.ts), the CPU time the whole machine spent meanwhile (the
// server's backends, pg_dump's workers and dbops together: on a small machine that, not the
// wall clock, is what a faster path has to save), medians, folder sizes.

export interface Timed {
  ms: number;
  /** CPU time (user, system, irq) every core of the machine spent during the run, in ms. */
  cpuMs: number;
  stdout: string;
  /** Peak RSS of the process in MiB, when it reported one. */
  rssMb?: number | undefined;
}

/** Runs a command to completion; its wall time from spawn to exit. A non-zero exit is an error with its stderr. */
export async function timeProcess(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; rssFile?: string } = {},
): Promise<Timed> {
  if (options.rssFile !== undefined) await rm(options.rssFile, { force: true });
  const started = performance.now();
  const cpuStarted = machineBusyMs();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(file, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString('utf8')).slice(-4000)));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ code: exitCode, stdout: out, stderr: err }));
  });
  const ms = performance.now() - started;
  const cpuMs = machineBusyMs() - cpuStarted;
  if (code !== 0)
    throw new Error(`${path.basename(file)} ${args.slice(0, 2).join(' ')} exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' / ')}`);
  let rssMb: number | undefined;
  if (options.rssFile !== undefined) {
    const kib = Number(await readFile(options.rssFile, 'utf8').catch(() => 'NaN'));
    rssMb = Number.isFinite(kib) ? kib / 1024 : undefined;
  }
  return { ms, cpuMs, stdout, rssMb };
}

/** Busy CPU time of the machine so far (every core), in ms: the difference over a run is what the run cost. */
export function machineBusyMs(): number {
  return os.cpus().reduce((sum, cpu) => sum + cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq, 0);
}

/** NODE_OPTIONS that make a Node child report its peak RSS (see rss-probe.ts). */
export function rssProbeOptions(distDir: string): string {
  return `--import=${pathToFileURL(path.join(distDir, 'bench', 'rss-probe.js')).href}`;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
export const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
