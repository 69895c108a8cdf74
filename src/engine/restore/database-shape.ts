import type pg from 'pg';
import { listExtensions, listSchemas, listTables } from '../pg/catalog.js';
import { query } from '../pg/client.js';
import { ident, qualifiedName } from '../pg/sql.js';

// What a database held before a restore, so that undoing a failed restore can remove what the
// restore added (schemas, tables, extensions the snapshot does not know) before the snapshot
// is restored over it: the target ends as it was, not as a mix.

export interface DatabaseShape {
  schemas: string[];
  tables: string[];
  extensions: string[];
}

export async function captureShape(client: pg.Client): Promise<DatabaseShape> {
  return {
    schemas: await listSchemas(client),
    tables: (await listTables(client)).map((t) => `${t.schema}.${t.table}`),
    extensions: (await listExtensions(client)).map((e) => e.name),
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
  for (const name of now.extensions.filter((e) => !before.extensions.includes(e))) {
    await query(client, `extension ${name}`, `DROP EXTENSION IF EXISTS ${ident(name)} CASCADE`);
  }
}
