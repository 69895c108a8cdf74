import type { TableRef } from '../pg/catalog.js';
import type { ConnectionSpec } from '../connection.js';
import { runTool } from '../tools/pg-tools.js';

// The full dump: directory format, so pg_restore can load tables in parallel, written by
// `jobs` workers at a low gzip level (compression CPU, not I/O, bounds a dump; see README).

export interface DumpRequest {
  connection: ConnectionSpec;
  dir: string;
  snapshot: string;
  jobs: number;
  compression: number;
  excludedSchemas: readonly string[];
  excludedDataTables: readonly TableRef[];
  signal?: AbortSignal | undefined;
  onTable?: ((table: string) => void) | undefined;
  /** A table's data file is complete (its name inside the dump folder), so it can be summed while pg_dump goes on. */
  onDataFile?: ((file: string) => void) | undefined;
}

/** A name as a pg_dump pattern that matches exactly it: inside double quotes wildcards are literal. */
export function exactPattern(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function dumpArgs(request: Omit<DumpRequest, 'connection' | 'signal' | 'onTable' | 'onDataFile'>): string[] {
  return [
    '--format=directory',
    `--file=${request.dir}`,
    `--jobs=${request.jobs}`,
    `--compress=${request.compression}`,
    `--snapshot=${request.snapshot}`,
    // Publications belong to the platform on Supabase; realtime.sql restores their members.
    '--no-publications',
    '--no-subscriptions',
    '--verbose',
    ...request.excludedSchemas.map((s) => `--exclude-schema=${exactPattern(s)}`),
    ...request.excludedDataTables.map((t) => `--exclude-table-data=${exactPattern(t.schema)}.${exactPattern(t.table)}`),
  ];
}

export async function runDump(request: DumpRequest): Promise<void> {
  await runTool('pg_dump', dumpArgs(request), {
    connection: request.connection,
    signal: request.signal,
    onStderrLine: (line) => {
      const match = /dumping contents of table "(.+)"$/.exec(line);
      if (match?.[1] !== undefined) request.onTable?.(match[1]);
      // Parallel pg_dump says when a worker has finished an item; <dumpId>.dat(.gz) is then closed.
      const done = /finished item (\d+) TABLE DATA /.exec(line);
      if (done?.[1] !== undefined) request.onDataFile?.(`${done[1]}.dat${request.compression > 0 ? '.gz' : ''}`);
    },
  });
}
