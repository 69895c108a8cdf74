import { writeFile } from 'node:fs/promises';
import { runTool } from './pg-tools.js';

// The dump's table of contents as `pg_restore --list` prints it, one entry per line:
//   215; 1259 40488 TABLE s t postgres
//   3363; 0 0 COMMENT s TABLE t postgres
// dumpId; catalog tableoid and oid; entry kind; schema ("-" for none); tag; owner. Names are
// printed unquoted, so only the leading numbers and the kind are parsed here; what the entry is
// comes from the catalog by its oid (backup side) or from objects.json (restore side).
// A list of lines given back to `pg_restore --use-list` restores exactly those entries.

export interface TocEntry {
  id: number;
  /** OID of the catalog the object lives in (pg_class, pg_proc, …); 0 for entries without one. */
  classId: number;
  /** The object's OID; for TABLE DATA, SEQUENCE SET, ROW SECURITY … the table's. */
  objectId: number;
  /** Entry kind as pg_dump names it: TABLE, TABLE DATA, FK CONSTRAINT, COMMENT, ACL, … */
  kind: string;
  /** Everything after the kind: schema, tag and owner, separated by spaces (names unquoted). */
  rest: string;
  line: string;
}

// Longest first, so "TABLE DATA" wins over "TABLE" and "MATERIALIZED VIEW DATA" over "MATERIALIZED VIEW".
const KINDS = [
  'MATERIALIZED VIEW DATA',
  'TEXT SEARCH CONFIGURATION',
  'TEXT SEARCH DICTIONARY',
  'TEXT SEARCH TEMPLATE',
  'TEXT SEARCH PARSER',
  'FOREIGN DATA WRAPPER',
  'SEQUENCE OWNED BY',
  'DATABASE PROPERTIES',
  'PUBLICATION TABLE',
  'PUBLICATION TABLES IN SCHEMA',
  'MATERIALIZED VIEW',
  'OPERATOR CLASS',
  'OPERATOR FAMILY',
  'ACCESS METHOD',
  'EVENT TRIGGER',
  'FK CONSTRAINT',
  'CHECK CONSTRAINT',
  'FOREIGN TABLE',
  'SECURITY LABEL',
  'SEQUENCE SET',
  'ROW SECURITY',
  'LARGE OBJECT',
  'DEFAULT ACL',
  'TABLE DATA',
  'SHELL TYPE',
  'USER MAPPING',
  'INDEX ATTACH',
  'STATISTICS',
  'SERVER',
  'PROCEDURE',
  'AGGREGATE',
  'COLLATION',
  'CONVERSION',
  'CONSTRAINT',
  'EXTENSION',
  'PROCEDURAL LANGUAGE',
  'TRANSFORM',
  'PUBLICATION',
  'SUBSCRIPTION',
  'BLOB DATA',
  'BLOBS',
  'BLOB',
  'CAST',
  'COMMENT',
  'DATABASE',
  'DEFAULT',
  'DOMAIN',
  'ENCODING',
  'FUNCTION',
  'INDEX',
  'OPERATOR',
  'POLICY',
  'RULE',
  'SCHEMA',
  'SEARCHPATH',
  'SEQUENCE',
  'STDSTRINGS',
  'TABLE',
  'TRIGGER',
  'TYPE',
  'VIEW',
  'ACL',
];

const LINE = /^(\d+); (\d+) (\d+) (.*)$/;

export function parseToc(text: string): TocEntry[] {
  const entries: TocEntry[] = [];
  for (const line of text.split('\n')) {
    const match = LINE.exec(line);
    if (match === null) continue; // comments (";") and blank lines
    const body = match[4]!;
    const kind = KINDS.find((k) => body === k || body.startsWith(`${k} `)) ?? body.split(' ')[0]!;
    entries.push({ id: Number(match[1]), classId: Number(match[2]), objectId: Number(match[3]), kind, rest: body.slice(kind.length + 1), line });
  }
  return entries;
}

export async function readToc(dumpDir: string, signal?: AbortSignal): Promise<TocEntry[]> {
  return parseToc((await runTool('pg_restore', ['--list', dumpDir], { signal })).stdout);
}

/** A file for `pg_restore --use-list`: these entries, in the order given. */
export async function writeTocList(file: string, entries: readonly TocEntry[]): Promise<void> {
  await writeFile(file, `${entries.map((e) => e.line).join('\n')}\n`, { mode: 0o600 });
}

/**
 * The role an entry's line ends with, chosen among known role names (the longest that fits, as
 * role names may hold spaces). Used for entries that carry no catalog OID (COMMENT, ACL).
 */
export function entryOwner(entry: TocEntry, roles: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const role of roles) {
    if (entry.line.endsWith(` ${role}`) && (best === undefined || role.length > best.length)) best = role;
  }
  return best;
}
