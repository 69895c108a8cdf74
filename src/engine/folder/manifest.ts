import * as z from 'zod';

// metadata.json: what a backup holds and the sha256 of every other file in it. The restore
// side validates a folder against this same schema before it touches any database.

export const MANIFEST_FORMAT = 'dbops-backup';
export const MANIFEST_VERSION = 1;

const tableRef = z.strictObject({ schema: z.string(), table: z.string() });

/** A table as every file of the format records it: schema and name apart (either may hold a dot). */
export type TableRef = z.infer<typeof tableRef>;

/** "schema.table": for messages and map keys only, never split again (a name may hold a dot). */
export const tableKey = (t: TableRef) => `${t.schema}.${t.table}`;

export const fileEntrySchema = z.strictObject({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
});

export const manifestSchema = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  formatVersion: z.literal(MANIFEST_VERSION),
  /** ISO-8601 UTC, the moment the snapshot was taken. */
  createdAt: z.iso.datetime(),
  target: z.string(),
  label: z.string().nullable(),
  mode: z.enum(['full', 'prod', 'custom']),
  source: z.strictObject({ host: z.string(), port: z.number().int(), database: z.string(), user: z.string() }),
  server: z.strictObject({ version: z.string(), versionNum: z.number().int() }),
  tools: z.record(z.string(), z.string()),
  options: z.strictObject({
    prod: z.boolean(),
    exclude: z.array(z.string()),
    jobs: z.number().int(),
    compression: z.number().int(),
    contentHashes: z.boolean(),
  }),
  categories: z.strictObject({
    included: z.array(z.string()),
    excluded: z.array(z.strictObject({ name: z.string(), mode: z.enum(['schema', 'data']) })),
  }),
  /** Schemas the dump holds (definitions), so a restore knows what it replaces. */
  schemas: z.array(z.string()),
  excludedSchemas: z.array(z.string()),
  managedSchemas: z.array(z.string()),
  /** Every table whose rows were left out (partitions included), with the category that left it out. */
  excludedDataTables: z.array(tableRef.extend({ category: z.string().optional() })),
  /**
   * Critical tables in foreign-key load order, each with its CSV file. loadFromCsv: the CSV is the
   * only copy of the table's rows (the dump holds its definition, not its data), so a restore
   * loads them from it; absent in backups made before (their dump holds the rows too).
   */
  criticalTables: z.array(
    tableRef.extend({ file: z.string(), rows: z.number().int().nonnegative(), group: z.number().int(), loadFromCsv: z.boolean().optional() }),
  ),
  /** Every role the dump's owners, grants and policies name; a restore creates missing ones NOLOGIN. */
  rolesNeeded: z.array(z.string()),
  fkCycles: z.array(z.strictObject({ tables: z.array(tableRef), deferrable: z.boolean() })),
  snapshot: z.string(),
  durationsMs: z.record(z.string(), z.number().nonnegative()),
  sizes: z.strictObject({ databaseBytes: z.number().int(), backupBytes: z.number().int(), dumpBytes: z.number().int() }),
  /** Relative path → checksum, for every file of the backup except metadata.json. */
  files: z.record(z.string(), fileEntrySchema),
});

export type Manifest = z.infer<typeof manifestSchema>;

export const rowCountsSchema = z.strictObject({
  tables: z.array(
    tableRef.extend({
      rows: z.number().int().nonnegative(),
      /** False for tables whose rows the backup left out: they restore empty. */
      dataIncluded: z.boolean(),
    }),
  ),
});

export type RowCounts = z.infer<typeof rowCountsSchema>;

/**
 * content_hashes.json: per-table fingerprints from the backup's snapshot, in one of two formats
 * (backup/content-hash.ts defines both; restore verifies either):
 * - "column-hash-sum/1" (written since): the columns hashed and a 16-hex sum of row hashes;
 * - no "algorithm" (written before): md5 over the sorted hashtext() of every row, 32 hex.
 */
export const contentHashesSchema = z.union([
  z.strictObject({
    algorithm: z.literal('column-hash-sum/1'),
    tables: z.array(tableRef.extend({ columns: z.array(z.string()), hash: z.string().regex(/^[0-9a-f]{16}$/) })),
  }),
  z.strictObject({
    tables: z.array(tableRef.extend({ hash: z.string().regex(/^[0-9a-f]{32}$/) })),
  }),
]);

export type ContentHashes = z.infer<typeof contentHashesSchema>;

/** objects.json: who each entry of the dump belongs to (see backup/object-origins.ts). */
export const objectEntrySchema = z.strictObject({
  /** The entry's dumpId in the dump's table of contents. */
  id: z.number().int(),
  kind: z.string(),
  origin: z.enum(['app', 'platform', 'extension']),
  owner: z.string().nullable(),
  /** pg_identify_object_as_address of the object: pg_get_object_address finds it on any database. */
  address: z.strictObject({ type: z.string(), names: z.array(z.string()), args: z.array(z.string()) }).nullable(),
  /** The table a dependent entry (trigger, policy, constraint, index, data) belongs to. */
  table: tableRef.nullable(),
  /** For a foreign key: the table it references. */
  references: tableRef.nullable(),
  /** For the rows of a platform table: whether the platform lets the database owner write them (else its own bookkeeping). */
  loadable: z.boolean().optional(),
  /** The entry's line as `pg_restore --list` prints it (what restore.sh's lists are made of). */
  line: z.string().optional(),
});

export const objectsSchema = z.strictObject({
  platformRoles: z.array(z.string()),
  entries: z.array(objectEntrySchema),
});

export type ObjectEntry = z.infer<typeof objectEntrySchema>;
export type ObjectsFile = z.infer<typeof objectsSchema>;
