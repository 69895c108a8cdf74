import * as z from 'zod';
import type { EngineContext } from '../engine/context.js';
import type { PushResult } from '../engine/remote/push-backup.js';
import type { CommandIO } from './command.js';
import { formatBytes } from './format.js';

// The face side of off-site copies, shared by the commands that push or fetch one: what their
// output says about the transfer, and the engine's push and fetch with their bytes turned into
// progress. Everything about S3 itself stays in engine/remote/ (loaded only when used).

/** What a push did, as backup-db --push and push-backup report it. */
export const pushedOutput = z.object({
  /** s3://bucket/prefix/<folder>: what restore-db and verify-backup take. */
  url: z.string(),
  /** The remote as messages show it (its endpoint's host when not AWS). */
  remote: z.string(),
  folder: z.string(),
  files: z.number(),
  uploaded: z.number(),
  /** Objects already there with the right name and size (a resumed or repeated push). */
  alreadyThere: z.number(),
  uploadedBytes: z.number(),
  /** Which key encrypted the copy (derived from it; not the key). */
  keyId: z.string(),
  durationMs: z.number(),
});
export type PushedOutput = z.output<typeof pushedOutput>;

/** What a fetch did, as restore-db and verify-backup report a remote copy they started from. */
export const fetchedOutput = z.object({
  url: z.string(),
  remote: z.string(),
  folder: z.string(),
  /** Where the copy was written; null when it was a temporary folder, removed after. */
  dir: z.string().nullable(),
  downloadedBytes: z.number(),
  /** The folder was already here, equal to the copy: nothing was downloaded. */
  alreadyThere: z.boolean(),
  durationMs: z.number(),
});
export type FetchedOutput = z.output<typeof fetchedOutput>;

/**
 * Bytes as progress, at most once per percent: a transfer reports every chunk, and a client
 * (a terminal bar, an MCP progress notification) needs no more than that.
 */
function byteProgress(io: CommandIO, message: string): (done: number, total: number) => void {
  let shown = -1;
  return (done, total) => {
    const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
    if (percent === shown) return;
    shown = percent;
    io.progress(message, { done, total });
  };
}

export async function pushWithProgress(backup: string, remote: string | undefined, ctx: EngineContext, io: CommandIO): Promise<PushResult> {
  const { pushBackup } = await import('../engine/remote/push-backup.js');
  const bytes = byteProgress(io, 'uploading bytes');
  const r = await pushBackup({ backup, remote }, ctx, {
    onProgress: (p) => {
      if (p.phase === 'plan')
        io.progress(`pushing ${p.files} files: ${p.toUpload} to upload (${formatBytes(p.bytesToUpload)}), ${p.files - p.toUpload} already there`);
      else if (p.phase === 'bytes') bytes(p.sent, p.total);
      else if (p.phase === 'manifest') io.progress('writing the manifest (the copy is complete from now on)');
    },
  });
  return r;
}

export function pushedShape(r: PushResult): PushedOutput {
  return {
    url: r.url,
    remote: r.remote,
    folder: r.folder,
    files: r.files,
    uploaded: r.uploaded,
    alreadyThere: r.alreadyThere,
    uploadedBytes: r.uploadedBytes,
    keyId: r.keyId,
    durationMs: r.durationMs,
  };
}

/** `into` undefined: the backups directory (where a restore keeps it). */
export async function fetchWithProgress(url: string, into: string | undefined, ctx: EngineContext, io: CommandIO): Promise<FetchedOutput & { dir: string }> {
  const { fetchBackup } = await import('../engine/remote/fetch-backup.js');
  const bytes = byteProgress(io, 'downloading bytes');
  const r = await fetchBackup({ url, ...(into === undefined ? {} : { into }) }, ctx, {
    onProgress: (p) => {
      if (p.phase === 'plan') io.progress(`fetching ${url}: ${p.files} files (${formatBytes(p.bytes)})`);
      else if (p.phase === 'bytes') bytes(p.received, p.total);
      else io.progress("checking the fetched copy (every sha256, then the backup's own checks)");
    },
  });
  return { url, remote: r.remote, folder: r.folder, dir: r.dir, downloadedBytes: r.downloadedBytes, alreadyThere: r.alreadyThere, durationMs: r.durationMs };
}

export function pushedLine(p: PushedOutput): string {
  const what =
    p.uploaded === 0
      ? `nothing to upload, all ${p.files} files already there`
      : `${p.uploaded} of ${p.files} files uploaded (${formatBytes(p.uploadedBytes)})${p.alreadyThere > 0 ? `, ${p.alreadyThere} already there` : ''}`;
  return `☁️  Pushed:    ${p.url} — ${what}; key id ${p.keyId}`;
}

/** "s3://… — 42.5 KB downloaded, decrypted and checked": each command puts its own label before it. */
export function fetchedText(f: FetchedOutput): string {
  const how = f.alreadyThere ? 'already here, nothing downloaded' : `${formatBytes(f.downloadedBytes)} downloaded, decrypted and checked`;
  return `${f.url} — ${how}${f.dir === null ? ' (into a temporary folder, removed after)' : ''}`;
}
