import path from 'node:path';
import { runTool } from '../tools/pg-tools.js';
import { writeTocList, type TocEntry } from '../tools/dump-toc.js';

// The statements that drop a set of the dump's entries, in the order PostgreSQL needs them,
// written by pg_restore itself: `pg_restore --clean --if-exists` prints every DROP first (in
// reverse dependency order, one per entry, IF EXISTS everywhere), then the first "-- Name:"
// block of the creating pass. Everything before that block is the drop script. Using
// pg_restore's own DROPs covers every object kind the dump can hold, however its name is spelt.

const CREATE_PASS = /^--\n-- Name: /m;

export async function dropScript(dumpDir: string, entries: readonly TocEntry[], workDir: string, signal?: AbortSignal): Promise<string> {
  if (entries.length === 0) return '';
  const list = path.join(workDir, `drop-${entries[0]!.id}-${entries.length}.list`);
  await writeTocList(list, entries);
  const { stdout } = await runTool('pg_restore', ['--clean', '--if-exists', '--schema-only', '--use-list', list, '--file', '-', dumpDir], { signal });
  const cut = stdout.search(CREATE_PASS);
  return cut === -1 ? stdout : stdout.slice(0, cut);
}
