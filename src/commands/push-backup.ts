import path from 'node:path';
import * as z from 'zod';
import { pushOptionsSchema } from '../engine/options/remote-options.js';
import { agentInput, FOLDER_MAX, remoteName } from '../mcp/limits.js';
import { checkRemoteAllowed, confineBackup } from '../mcp/policy.js';
import type { Command } from './command.js';
import { formatBytes, formatDuration } from './format.js';
import { pushedLine, pushedOutput, pushedShape, pushWithProgress } from './remote-copy.js';

// push-backup: an existing backup folder (latest, or a given one), encrypted, into a remote.
// Pushing again is resuming: only what is missing or differs is uploaded.

const output = pushedOutput.extend({
  /** The local folder that was pushed. */
  backupDir: z.string(),
  backupBytes: z.number(),
  /** Objects of an earlier push of this folder that the new manifest no longer names, removed. */
  removedStale: z.number(),
  /** Multipart uploads a stopped push had left open under this folder, aborted. */
  abortedUploads: z.number(),
});
type Output = z.output<typeof output>;

export const pushBackup: Command<typeof pushOptionsSchema, typeof output> = {
  name: 'push-backup',
  input: pushOptionsSchema,
  output,
  cli: {
    positional: 'backup',
    examples: [
      'dbops push-backup',
      'dbops push-backup storage/backups/20261123_070312_staging_nightly --remote offsite',
      'dbops push-backup latest --remote s3://acme-db-backups/dbops/prod --json',
    ],
  },
  target: () => undefined,
  async run(input, ctx, io) {
    const r = await pushWithProgress(input.backup, input.remote, ctx, io);
    return { ...pushedShape(r), backupDir: r.backupDir, backupBytes: r.backupBytes, removedStale: r.removedStale, abortedUploads: r.abortedUploads };
  },
  succeeded: () => true,
  summary: (r) => `Pushed ${r.folder} to ${r.url}: ${r.uploaded} of ${r.files} files uploaded (${r.uploadedBytes} bytes), ${r.alreadyThere} already there.`,
  text: pushText,
  mcp: {
    tool: 'push_backup',
    title: 'Push a backup to a remote',
    description:
      "Copy a backup folder (latest by default), encrypted on this machine, to a remote configured in dbops.config.yaml. Additive: writes only this folder's objects in the remote; pushing again uploads only what is missing. Long-running: sends progress notifications when given a progress token.",
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    input: agentInput({
      backup: z.string().min(1).max(FOLDER_MAX).default('latest').describe('"latest", or the name of a folder in the backups directory'),
      remote: remoteName().optional(),
    }),
    async prepare(args, ctx) {
      checkRemoteAllowed(args.remote, ctx);
      return { ...args, backup: await confineBackup(args.backup, ctx) };
    },
  },
};

function pushText(r: Output, cwd: string): string {
  const shown = path.relative(cwd, r.backupDir).startsWith('..') ? r.backupDir : path.relative(cwd, r.backupDir);
  return [
    r.uploaded === 0 ? `✅ ${r.folder}: the copy in ${r.remote} was already complete` : `✅ ${r.folder} pushed to ${r.remote}`,
    '',
    `📁 From:      ${shown} (${formatBytes(r.backupBytes)})`,
    pushedLine(r),
    ...(r.removedStale + r.abortedUploads > 0
      ? [`🧹 Cleaned:   ${r.removedStale} stale object(s) of an earlier push, ${r.abortedUploads} open upload(s) of a stopped one`]
      : []),
    `⏱  Duration:  ${formatDuration(r.durationMs)}`,
    '',
    `Restore from it with: npx dbops restore-db ${r.url}`,
  ].join('\n');
}
