import type pg from 'pg';
import type { EngineContext } from '../context.js';
import type { Manifest } from '../folder/manifest.js';
import { listForeignKeys, listInheritance, listSchemas, listTables, serverInfo, type FkEdge, type ServerInfo } from '../pg/catalog.js';
import { fkLoadOrder } from '../pg/fk-order.js';
import { assertToolsFit } from '../tools/pg-tools.js';
import { selectTables, type Selection, type SelectionInput } from './selection.js';

// Step 1 of a backup: one snapshot for everything (the dump, the counts and the CSVs all see the
// same rows), and what the catalog says on it: the server, the tools that fit it, the tables and
// what of them is kept. The transaction stays open on `client`: the exported snapshot lives as
// long as it does, and step 2 reads more of the catalog in it.

export interface BackupSnapshot {
  /** pg_export_snapshot()'s id, which pg_dump and the table readers import. */
  id: string;
  createdAt: Date;
  server: ServerInfo;
  /** Tool → version, each checked to be able to dump this server. */
  tools: Record<string, string>;
  schemas: string[];
  fks: FkEdge[];
  selection: Selection;
  /** Foreign-key cycles among the dumped tables, as metadata.json records them. */
  fkCycles: Manifest['fkCycles'];
}

export async function takeSnapshot(client: pg.Client, input: SelectionInput, ctx: EngineContext): Promise<BackupSnapshot> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  const id = (await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0]!.id;
  const createdAt = (ctx.now ?? (() => new Date()))();
  const server = await serverInfo(client);
  const tools = await assertToolsFit(server.versionNum, ['pg_dump', 'pg_restore', 'pg_dumpall']);
  const [schemas, tables, fks, inheritance] = [
    await listSchemas(client),
    await listTables(client),
    await listForeignKeys(client),
    await listInheritance(client),
  ];
  const selection = selectTables(ctx.config, input, schemas, tables, inheritance);
  const fkCycles = fkLoadOrder(selection.dumpedTables, fks)
    .filter((g) => g.tables.length > 1)
    .map((g) => ({ tables: g.tables.map(({ schema, table }) => ({ schema, table })), deferrable: g.deferrable }));
  return { id, createdAt, server, tools, schemas, fks, selection, fkCycles };
}

/** The schemas whose definitions the backup holds. */
export function keptSchemas(snapshot: BackupSnapshot): string[] {
  return snapshot.schemas.filter((s) => !snapshot.selection.excludedSchemas.includes(s));
}
