import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod';
import type { ConnectionSpec } from '../connection.js';
import { DbopsError } from '../errors.js';

// A restore that is killed (kill -9, a crash, the machine going down) after it started replacing
// the target leaves it half-restored, and nothing in the target says so. Before the destructive
// part starts, a marker file in the backups directory names the target and how to put it back
// (its pre-restore snapshot, what the restore may have created, the shape it had, where its
// history was set aside); it is rewritten when a rollback starts and removed when the target is
// whole again. The next restore into that target finds the marker (after taking the restore
// lock, so no live run owns it) and puts the target back before anything else.
//
// Example: storage/backups/.rollback-127.0.0.1_5432_app_dev.json

export const MARKER_FORMAT = 'dbops-rollback';

const tocEntry = z.strictObject({
  id: z.number().int(),
  classId: z.number().int(),
  objectId: z.number().int(),
  kind: z.string().max(100),
  rest: z.string().max(10_000),
  line: z.string().max(10_000),
});
const names = z.array(z.string().max(1000)).max(1_000_000);

const markerSchema = z.strictObject({
  format: z.literal(MARKER_FORMAT),
  version: z.literal(1),
  target: z.strictObject({ host: z.string(), port: z.number().int(), database: z.string() }),
  /** restore: killed while replacing the target; rollback: killed while putting it back. */
  phase: z.enum(['restore', 'rollback']),
  snapshotDir: z.string().min(1),
  backupDir: z.string().min(1),
  /** dbops layout: the backup's dump entries the restore may have created, dropped first when putting back. */
  dropEntries: z.array(tocEntry).nullable(),
  shape: z.strictObject({ schemas: names, tables: names, extensions: names, functions: names, types: names }),
  historyAside: z.string().nullable(),
  /** The application_name of every session of that run (its tools may outlive it). */
  application: z.string(),
  pid: z.number().int(),
  startedAt: z.string(),
});

export type RollbackMarker = z.infer<typeof markerSchema>;

/** Only [A-Za-z0-9_.-] in a file name; a name that would be too long becomes a hash. */
export function markerPath(backupsDir: string, spec: Pick<ConnectionSpec, 'host' | 'port' | 'database'>): string {
  const safe = (text: string) => text.replace(/[^A-Za-z0-9_.-]/g, (ch) => `%${ch.codePointAt(0)!.toString(16).toUpperCase()}`);
  const plain = `.rollback-${safe(spec.host)}_${spec.port}_${safe(spec.database)}.json`;
  if (plain.length <= 200) return path.join(backupsDir, plain);
  const hash = createHash('sha256').update(`${spec.host}\u0000${spec.port}\u0000${spec.database}`).digest('hex').slice(0, 32);
  return path.join(backupsDir, `.rollback-${hash}.json`);
}

/** Written whole or not at all (a rename), flushed: it must be there after a crash. */
export async function writeRollbackMarker(backupsDir: string, marker: RollbackMarker): Promise<void> {
  await mkdir(backupsDir, { recursive: true, mode: 0o700 });
  const file = markerPath(backupsDir, marker.target);
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(marker)}\n`, { mode: 0o600, flush: true });
  await rename(temporary, file);
}

export async function readRollbackMarker(backupsDir: string, spec: ConnectionSpec): Promise<{ marker: RollbackMarker; file: string } | undefined> {
  const file = markerPath(backupsDir, spec);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = (() => {
    try {
      return markerSchema.safeParse(JSON.parse(text));
    } catch {
      return undefined;
    }
  })();
  const marker = parsed?.success ? parsed.data : undefined;
  if (marker === undefined || marker.target.host !== spec.host || marker.target.port !== spec.port || marker.target.database !== spec.database) {
    throw new DbopsError(
      'ROLLBACK_FAILED',
      `The rollback marker ${file} is not one dbops wrote for this target; an earlier restore may have left database "${spec.database}" half-restored.`,
      {
        hint: `Check the target, then remove ${path.basename(file)} from the backups directory to restore anyway.`,
      },
    );
  }
  return { marker, file };
}

export async function removeRollbackMarker(backupsDir: string, spec: Pick<ConnectionSpec, 'host' | 'port' | 'database'>): Promise<void> {
  await rm(markerPath(backupsDir, spec), { force: true });
}
