import type { z } from 'zod';
import type { EngineContext } from '../context.js';
import { formatConnection } from '../connection.js';
import { listInheritance, listSchemas, listTables } from '../pg/catalog.js';
import { withClient } from '../pg/client.js';
import { resolveTarget } from '../targets.js';
import type { backupOptionsSchema } from './backup.js';
import { matchesPattern, selectTables } from './selection.js';

// backup-db --plan: what a backup with these options would hold, table by table, without
// writing anything: each table's category (the pattern that names it, or its partitioned
// parent's), whether its rows are kept, and the schemas left out. So a user sees, before the
// first backup, that --prod would empty a table merely named like another app's.

export interface PlannedTable {
  schema: string;
  table: string;
  kind: 'table' | 'partitioned';
  /** The category a pattern puts it in (or its ancestor in), null for tables in no category. */
  category: string | null;
  rowsKept: boolean;
  /** Why its rows are left out: the category flag, or the schema left out. */
  reason: string | null;
}

export interface BackupPlan {
  target: string;
  source: string;
  mode: 'full' | 'prod' | 'custom';
  included: string[];
  excluded: Array<{ name: string; mode: 'schema' | 'data' }>;
  excludedSchemas: string[];
  tables: PlannedTable[];
}

export async function planBackup(options: z.output<typeof backupOptionsSchema>, ctx: EngineContext): Promise<BackupPlan> {
  const target = resolveTarget(ctx.config, options, ctx.env);
  return withClient(target.spec, async (client) => {
    const [schemas, tables, inheritance] = [await listSchemas(client), await listTables(client), await listInheritance(client)];
    const selection = selectTables(ctx.config, options, schemas, tables, inheritance);
    const left = new Map(selection.excludedDataTables.map((t) => [t.oid, t.category]));
    const categoryOf = (t: { schema: string; table: string }) =>
      Object.entries(ctx.config.categories).find(([, c]) => c.patterns.some((p) => matchesPattern(p, t)))?.[0] ?? null;
    const planned: PlannedTable[] = tables.map((t) => {
      const schemaOut = selection.excludedSchemas.includes(t.schema);
      const dataOut = left.get(t.oid);
      return {
        schema: t.schema,
        table: t.table,
        kind: t.kind === 'p' ? 'partitioned' : 'table',
        category: dataOut ?? categoryOf(t),
        rowsKept: !schemaOut && dataOut === undefined,
        reason: schemaOut
          ? selection.managedSchemas.includes(t.schema)
            ? `schema ${t.schema} is the platform's (managed_schemas)`
            : `schema ${t.schema} left out`
          : dataOut !== undefined
            ? `--no-${dataOut.replace(/_/g, '-')}`
            : null,
      };
    });
    return {
      target: target.name,
      source: `${target.name} (${formatConnection(target.spec)})`,
      mode: selection.mode,
      included: selection.included,
      excluded: selection.excluded,
      excludedSchemas: selection.excludedSchemas,
      tables: planned,
    };
  });
}
