import { appendFile, mkdir, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { artifactEventSchema, type ArtifactEvent } from './event.js';

// Events that could not reach their database wait here, one JSON line each, tagged with the
// database they belong to (user@host:port/db, never a password), until a call reaches it.

export interface SpooledEvent {
  dest: string;
  event: ArtifactEvent;
}

export function spoolFile(root: string, env: NodeJS.ProcessEnv): string {
  return path.resolve(root, env.DBOPS_SPOOL_DIR ?? 'storage/spool', 'events.jsonl');
}

export async function spoolEvent(file: string, entry: SpooledEvent): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await appendFile(file, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
}

/**
 * Takes the spool for flushing: renamed first, so two processes never send the same lines;
 * what the caller does not deliver goes back with `putBack`.
 */
export async function claimSpool(file: string): Promise<SpooledEvent[]> {
  const claimed = `${file}.${process.pid}.flushing`;
  try {
    await rename(file, claimed);
  } catch {
    return [];
  }
  const text = await readFile(claimed, 'utf8');
  await unlink(claimed);
  const entries: SpooledEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const raw = JSON.parse(line) as { dest?: unknown; event?: unknown };
      entries.push({ dest: String(raw.dest), event: artifactEventSchema.parse(raw.event) });
    } catch {
      // A torn line (a process killed mid-write) cannot be delivered; dropping it keeps the rest flowing.
    }
  }
  return entries;
}

export async function putBack(file: string, entries: readonly SpooledEvent[]): Promise<void> {
  for (const entry of entries) await spoolEvent(file, entry);
}
