import { createHash } from 'node:crypto';
import type pg from 'pg';
import { query } from '../pg/client.js';
import { ident, qualifiedName } from '../pg/sql.js';
import type { TableRef } from '../pg/catalog.js';

// A table's content fingerprint, computed by the server in one aggregate with its row count:
// no sort, no rows sent to us, so it costs one scan at any size. Backup (on the snapshot) and
// restore verification (on the target) build the very same query from the same column names.
//
// Format "column-hash-sum/1" (content_hashes.json says `"algorithm": "column-hash-sum/1"`):
//   row  = XOR over the backup's columns of hash(value, seed(column name)), or a per-column
//          constant when the value is NULL; XOR makes column order irrelevant, the seeds tell
//          columns apart;
//   hash = sum of the row values mod 2^64, as 16 hex digits. A sum, unlike XOR, does not let
//          two equal rows cancel out, and any row order gives the same result.
// The per-value hash is the type's own hash function where that function depends on the value
// only (integers, text compared byte-wise under "C", uuid, jsonb, numeric, timestamps, …):
// these are the functions hash partitioning stores rows by, so they stay the same across
// servers and versions. Every other type (json, enums — whose hash is their OID —, tsvector,
// extension types, composites, …) is hashed through its text form, with the settings that
// shape text output pinned (HASH_SETTINGS). Equal values hash alike: numeric 1.0 and 1.00 do.
//
// The format before it (content_hashes.json without "algorithm") was md5 over the sorted
// hashtext() of every row's text; legacyContentHash() still computes it to verify old backups.

export const CONTENT_HASH_ALGORITHM = 'column-hash-sum/1';

/** Settings under which text forms are read: the same at backup and at verification. */
export const HASH_SETTINGS: ReadonlyArray<readonly [string, string]> = [
  ['DateStyle', 'ISO, YMD'],
  ['IntervalStyle', 'postgres'],
  ['TimeZone', 'UTC'],
  ['extra_float_digits', '3'],
  ['bytea_output', 'hex'],
  ['lc_monetary', 'C'],
];

export function hashSettingsSql(local: boolean): string {
  return HASH_SETTINGS.map(([name, value]) => `SET ${local ? 'LOCAL ' : ''}${name} = '${value}'`).join('; ');
}

// Built-in type OIDs are fixed by PostgreSQL (pg_type.dat); each maps to its hash call.
type HashCall = (value: string, seed: string) => string;
const SCALAR: ReadonlyMap<number, HashCall> = new Map<number, HashCall>([
  [21, (v, s) => `hashint2extended(${v}, ${s})`],
  [23, (v, s) => `hashint4extended(${v}, ${s})`],
  [20, (v, s) => `hashint8extended(${v}, ${s})`],
  [16, (v, s) => `hashint4extended(${v}::int4, ${s})`],
  [25, (v, s) => `hashtextextended(${v} COLLATE "C", ${s})`],
  [1043, (v, s) => `hashtextextended(${v}::text COLLATE "C", ${s})`],
  [19, (v, s) => `hashtextextended(${v}::text COLLATE "C", ${s})`],
  [1042, (v, s) => `hashbpcharextended(${v} COLLATE "C", ${s})`],
  [2950, (v, s) => `uuid_hash_extended(${v}, ${s})`],
  [3802, (v, s) => `jsonb_hash_extended(${v}, ${s})`],
  [1700, (v, s) => `hash_numeric_extended(${v}, ${s})`],
  [700, (v, s) => `hashfloat4extended(${v}, ${s})`],
  [701, (v, s) => `hashfloat8extended(${v}, ${s})`],
  [1114, (v, s) => `timestamp_hash_extended(${v}, ${s})`],
  // The instant itself, whatever the session's time zone.
  [1184, (v, s) => `timestamp_hash_extended(${v} AT TIME ZONE 'UTC', ${s})`],
  [1082, (v, s) => `timestamp_hash_extended(${v}::timestamp, ${s})`],
  [1083, (v, s) => `time_hash_extended(${v}, ${s})`],
  [1266, (v, s) => `timetz_hash_extended(${v}, ${s})`],
  [1186, (v, s) => `interval_hash_extended(${v}, ${s})`],
  [869, (v, s) => `hashinetextended(${v}, ${s})`],
  [650, (v, s) => `hashinetextended(${v}, ${s})`],
]);

// Arrays of these element types hash with hash_array_extended, which applies the element's own
// hash function (collatable elements under "C").
const ARRAY_ELEMENTS: ReadonlySet<number> = new Set([21, 23, 20, 16, 2950, 3802, 1700, 700, 701, 1114, 1184, 1082, 1083, 1186, 869]);
const COLLATABLE_ELEMENTS: ReadonlySet<number> = new Set([25, 1043, 1042, 19]);
const TEXT_FORM: HashCall = (v, s) => `hashtextextended(${v}::text COLLATE "C", ${s})`;

export interface HashColumn {
  name: string;
  /** The column's type after domains are resolved to their base type. */
  baseType: number;
  /** For arrays: the element type (0 otherwise). */
  element: number;
}

/** A 64-bit constant derived from a column name, as an SQL bigint literal. */
function seed(label: string): string {
  return createHash('sha256').update(label, 'utf8').digest().readBigInt64BE(0).toString();
}

function hashCall(column: HashColumn): HashCall {
  const scalar = SCALAR.get(column.baseType);
  if (scalar !== undefined) return scalar;
  if (ARRAY_ELEMENTS.has(column.element)) return (v, s) => `hash_array_extended(${v}, ${s})`;
  if (COLLATABLE_ELEMENTS.has(column.element)) return (v, s) => `hash_array_extended(${v} COLLATE "C", ${s})`;
  return TEXT_FORM;
}

function valueHash(column: HashColumn): string {
  return hashCall(column)(ident(column.name), `${seed(`value:${column.name}`)}::int8`);
}

/** The aggregate that returns a table's row count and content hash (format column-hash-sum/1). */
export function contentHashSql(table: TableRef, columns: readonly HashColumn[]): string {
  const row = columns.length === 0 ? '0::int8' : columns.map((c) => `coalesce(${valueHash(c)}, ${seed(`null:${c.name}`)}::int8)`).join(' # ');
  return `SELECT count(*)::text AS n, coalesce(sum(${row}), 0)::text AS s FROM ONLY ${qualifiedName(table)}`;
}

/** sum(...) as numeric text → 16 hex digits (mod 2^64). */
export function hashFromSum(sum: string): string {
  return BigInt.asUintN(64, BigInt(sum)).toString(16).padStart(16, '0');
}

export interface TableFacts {
  rows: number;
  hash: string;
}

/** The table's row count and, with `withHash`, its content hash ('' without). */
export async function tableFacts(client: pg.Client, table: TableRef, columns: readonly HashColumn[], withHash = true): Promise<TableFacts> {
  const sql = withHash ? contentHashSql(table, columns) : `SELECT count(*)::text AS n, NULL AS s FROM ONLY ${qualifiedName(table)}`;
  const rows = await query<{ n: string; s: string | null }>(client, `row count${withHash ? ' and content hash' : ''} of ${table.schema}.${table.table}`, sql);
  return { rows: Number(rows[0]!.n), hash: rows[0]!.s === null ? '' : hashFromSum(rows[0]!.s) };
}

/** Every column of these tables (by oid), dropped ones aside, in column order, domains resolved to their base type. */
export async function hashColumns(client: pg.Client, tableOids: readonly number[]): Promise<Map<number, HashColumn[]>> {
  const rows = await query<{ table: number; name: string; base: number; element: number }>(
    client,
    'column types',
    `WITH RECURSIVE cols AS (
       SELECT a.attrelid, a.attnum, a.attname, a.atttypid AS t FROM pg_attribute a
        WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
     ), base(attrelid, attnum, t) AS (
       SELECT attrelid, attnum, t FROM cols
       UNION ALL
       SELECT b.attrelid, b.attnum, ty.typbasetype FROM base b JOIN pg_type ty ON ty.oid = b.t WHERE ty.typtype = 'd'
     )
     SELECT c.attrelid::int AS table, c.attname AS name, ty.oid::int AS base,
            CASE WHEN ty.typcategory = 'A' AND ty.typelem <> 0 THEN ty.typelem::int ELSE 0 END AS element
       FROM cols c JOIN base b ON b.attrelid = c.attrelid AND b.attnum = c.attnum
       JOIN pg_type ty ON ty.oid = b.t AND ty.typtype <> 'd'
      ORDER BY c.attrelid, c.attnum`,
    [tableOids],
  );
  const byTable = new Map<number, HashColumn[]>();
  for (const r of rows) {
    const list = byTable.get(r.table) ?? [];
    list.push({ name: r.name, baseType: r.base, element: r.element });
    byTable.set(r.table, list);
  }
  return byTable;
}

/**
 * The fingerprint content_hashes.json held before "algorithm" existed (pgcopydb's compare: md5
 * over the sorted hashtext() of every row's text form). Kept only to verify those backups.
 */
export async function legacyContentHash(client: pg.Client, table: TableRef): Promise<string> {
  const rows = await query<{ h: string | null }>(
    client,
    `content hash of ${table.schema}.${table.table}`,
    `SELECT md5(coalesce(string_agg(h::text, ',' ORDER BY h), '')) AS h FROM (SELECT hashtext(t::text) AS h FROM ONLY ${qualifiedName(table)} t) s`,
  );
  return rows[0]?.h ?? '';
}
