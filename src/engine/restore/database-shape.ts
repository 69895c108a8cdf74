import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import type { BackupHandle } from '../folder/open.js';
import type { ConnectionSpec } from '../connection.js';
import { listExtensions, listSchemas, listTables } from '../pg/catalog.js';
import { query } from '../pg/client.js';
import { ident, qualifiedName } from '../pg/sql.js';
import { backupPaths } from '../folder/layout.js';
import { runTool } from '../tools/pg-tools.js';
import { dropScript, entriesToDrop } from './drop-script.js';
import type { EntryPlan } from './plan-entries.js';

// Undoing a failed restore before the safety snapshot is restored over the target: what the
// restore added must go, or the target would end as a mix. For a dbops backup the dump's own
// DROP statements remove every object it may have created; for the old layouts (plain SQL, no
// table of contents) and for extensions, the target's shape from before is compared with now.

export interface DatabaseShape {
  schemas: string[];
  tables: string[];
  extensions: string[];
  /** Functions and types (regprocedure / regtype text) in schemas that existed before. */
  functions: string[];
  types: string[];
}

const FUNCTIONS = `SELECT p.oid::regprocedure::text AS name, CASE p.prokind WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END AS kind FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype IN ('e', 'i'))`;
const TYPES = `SELECT t.oid::regtype::text AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
     AND t.typtype IN ('e', 'd', 'r', 'c', 'm') AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')`;

export async function captureShape(client: pg.Client): Promise<DatabaseShape> {
  return {
    schemas: await listSchemas(client),
    tables: (await listTables(client)).map((t) => `${t.schema}.${t.table}`),
    extensions: (await listExtensions(client)).map((e) => e.name),
    functions: (await query<{ name: string }>(client, 'functions', FUNCTIONS)).map((r) => r.name),
    types: (await query<{ name: string }>(client, 'types', TYPES)).map((r) => r.name),
  };
}

export async function dropAddedSince(client: pg.Client, before: DatabaseShape): Promise<void> {
  const now = await captureShape(client);
  for (const schema of now.schemas.filter((s) => !before.schemas.includes(s))) {
    await query(client, `schema ${schema}`, `DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
  }
  const tables = await listTables(client);
  for (const t of tables.filter((x) => before.schemas.includes(x.schema) && !before.tables.includes(`${x.schema}.${x.table}`))) {
    await query(client, `table ${t.schema}.${t.table}`, `DROP TABLE IF EXISTS ${qualifiedName(t)} CASCADE`);
  }
  // regprocedure/regtype text is a valid, quoted SQL name of the object.
  for (const fn of (await query<{ name: string; kind: string }>(client, 'functions', FUNCTIONS)).filter((f) => !before.functions.includes(f.name))) {
    await query(client, `function ${fn.name}`, `DROP ${fn.kind} IF EXISTS ${fn.name} CASCADE`);
  }
  for (const type of (await query<{ name: string }>(client, 'types', TYPES)).map((r) => r.name).filter((t) => !before.types.includes(t))) {
    await query(client, `type ${type}`, `DROP TYPE IF EXISTS ${type} CASCADE`);
  }
  for (const name of now.extensions.filter((e) => !before.extensions.includes(e))) {
    await query(client, `extension ${name}`, `DROP EXTENSION IF EXISTS ${ident(name)} CASCADE`);
  }
}

/**
 * Drops every object a failed restore of this dbops backup may have created, with the dump's own
 * DROP … IF EXISTS statements. Statements that fail (an object the target had before, held by
 * something else) are left: the snapshot restored next replaces what the target had.
 */
export async function dropRestoredEntries(handle: BackupHandle, plan: EntryPlan, target: ConnectionSpec): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), 'dbops-undo-'));
  try {
    const script = await dropScript(backupPaths(handle.dir).dump, entriesToDrop(plan.entries), work);
    if (script !== '') await runTool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=0'], { connection: target, input: script });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
