import * as z from 'zod';
import { DbopsError } from '../engine/errors.js';
import { pruneOptionsSchema } from '../engine/options/prune-options.js';
import { remoteReference } from '../engine/options/remote-options.js';
import { agentInput, describedAs, name, remoteName } from '../mcp/limits.js';
import { checkRemoteAllowed } from '../mcp/policy.js';
import type { Command } from './command.js';
import { formatBytes } from './format.js';

// prune-backups: the retention policy applied to the backups directory, with a reason per
// folder; --remote: the same decision applied to the copies in a remote (its own retention:
// if it has one, else the top-level one).

const input = pruneOptionsSchema.extend({
  remote: remoteReference
    .optional()
    .describe('Prune the copies in this remote instead of the backups directory: a name from dbops.config.yaml, or s3://bucket/prefix'),
});

const output = z.object({
  /** The backups directory, or the remote's s3://bucket/prefix. */
  root: z.string(),
  /** The remote pruned, as messages show it; null for the backups directory. */
  remote: z.string().nullable(),
  dryRun: z.boolean(),
  removed: z.array(z.string()),
  freedBytes: z.number(),
  decisions: z.array(
    z.object({
      folder: z.string(),
      target: z.string().nullable(),
      label: z.string().nullable(),
      status: z.string(),
      action: z.enum(['keep', 'remove']),
      reason: z.string(),
    }),
  ),
});

export const pruneBackups: Command<typeof input, typeof output> = {
  name: 'prune-backups',
  input,
  output,
  cli: { examples: ['dbops prune-backups --dry-run', 'dbops prune-backups --target prod', 'dbops prune-backups --remote offsite --dry-run'] },
  target: () => undefined,
  async run({ remote, ...options }, ctx) {
    if (remote !== undefined) {
      const { pruneRemote } = await import('../engine/remote/prune-remote.js');
      const r = await pruneRemote({ ...options, remote }, ctx);
      return { root: r.url, remote: r.remote, dryRun: r.dryRun, removed: r.removed, freedBytes: r.freedBytes, decisions: r.decisions };
    }
    const { pruneBackups: prune } = await import('../engine/lifecycle/prune-backups.js');
    const r = await prune(options, ctx);
    return { root: r.root, remote: null, dryRun: r.dryRun, removed: r.removed, freedBytes: r.freedBytes, decisions: r.decisions };
  },
  succeeded: () => true,
  summary: (r) =>
    `${r.dryRun ? 'Would remove' : 'Removed'} ${r.decisions.filter((d) => d.action === 'remove').length} of ${r.decisions.length} ${r.remote ? 'copies in the remote' : 'folders'}.`,
  text(r) {
    const remove = r.decisions.filter((d) => d.action === 'remove');
    return [
      `${r.dryRun ? 'Dry run: would remove' : 'Removed'} ${remove.length} of ${r.decisions.length} ${r.remote ? 'copies' : 'folders'} in ${r.remote ?? r.root} (${formatBytes(r.freedBytes)}).`,
      ...r.decisions.map((d) => `   ${d.action === 'keep' ? 'keep  ' : r.dryRun ? 'remove?' : 'removed'} ${d.folder} — ${d.reason}`),
    ].join('\n');
  },
  mcp: {
    tool: 'prune_backups',
    title: 'Prune old backups',
    description:
      'Apply the retention policy to the backups directory, or with remote to the copies in that remote. DESTRUCTIVE unless dryRun: deletes backup folders (or remote copies) the policy does not keep.',
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    input: agentInput({
      ...pruneOptionsSchema.shape,
      target: name(describedAs(pruneOptionsSchema, 'target')).optional(),
      remote: remoteName('Prune the copies in this remote (named in dbops.config.yaml) instead of the backups directory').optional(),
      confirm: name("With remote and without dryRun: the remote's name again. Run with dryRun first and show the user what would be removed").optional(),
    }),
    async prepare(args, ctx) {
      checkRemoteAllowed(args.remote, ctx);
      // Off-site copies are the last copies: an agent deletes them only when confirmed by name,
      // after a dry run it could show (the local prune keeps its newest valid backup regardless).
      if (args.remote !== undefined && args.dryRun !== true && args.confirm !== args.remote) {
        throw new DbopsError('CONFIRM_MISMATCH', `Pruning remote "${args.remote}" deletes copies there: confirm must be the remote's name.`, {
          hint: 'Call prune_backups with dryRun: true first, show the user what would be removed, then call it again with confirm set to the remote name.',
        });
      }
      const { confirm: _confirm, ...input } = args;
      return input;
    },
  },
};
