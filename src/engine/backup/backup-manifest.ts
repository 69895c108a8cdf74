import type { z } from 'zod';
import type { FileSum } from '../folder/checksums.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, type Manifest } from '../folder/manifest.js';
import type { backupOptionsSchema } from '../options/backup-options.js';
import type { ReadOnSnapshot } from './dump-and-read.js';
import { keptSchemas, type BackupSnapshot } from './snapshot.js';

// metadata.json of a backup: what the steps found and did, and the sum of every file (made when
// sealing, once every file is written and summed).

export interface ManifestParts {
  targetName: string;
  options: z.output<typeof backupOptionsSchema>;
  jobs: number;
  compression: number;
  source: Manifest['source'];
  snapshot: BackupSnapshot;
  read: ReadOnSnapshot;
  durations: Record<string, number>;
}

export function backupManifest(
  { targetName, options, jobs, compression, source, snapshot, read, durations }: ManifestParts,
  files: Record<string, FileSum>,
): Manifest {
  const { selection, server } = snapshot;
  const dumpBytes = Object.entries(files)
    .filter(([f]) => f.startsWith('dump/'))
    .reduce((n, [, s]) => n + s.bytes, 0);
  return {
    format: MANIFEST_FORMAT,
    formatVersion: MANIFEST_VERSION,
    createdAt: snapshot.createdAt.toISOString(),
    target: targetName,
    label: options.label ?? null,
    mode: selection.mode,
    source,
    server: { version: server.version, versionNum: server.versionNum },
    tools: snapshot.tools,
    options: { prod: options.prod, exclude: options.exclude, jobs, compression, contentHashes: read.hashes !== undefined },
    categories: { included: selection.included, excluded: selection.excluded },
    schemas: keptSchemas(snapshot),
    excludedSchemas: selection.excludedSchemas,
    managedSchemas: selection.managedSchemas,
    excludedDataTables: selection.excludedDataTables.map(({ schema, table, category }) => ({ schema, table, category })),
    criticalTables: read.critical,
    rolesNeeded: read.neededRoles,
    fkCycles: snapshot.fkCycles,
    snapshot: snapshot.id,
    durationsMs: durations,
    sizes: { databaseBytes: server.databaseBytes, backupBytes: Object.values(files).reduce((n, s) => n + s.bytes, 0), dumpBytes },
    files,
  };
}
