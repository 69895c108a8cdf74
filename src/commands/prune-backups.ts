import { z } from 'zod';
import { pruneOptionsSchema } from '../engine/options/prune-options.js';
import { agentInput, describedAs, name } from '../mcp/limits.js';
import type { Command } from './command.js';
import { formatBytes } from './format.js';

// prune-backups: the retention policy applied to the backups directory, with a reason per folder.

const output = z.object({
  root: z.string(),
  dryRun: z.boolean(),
  removed: z.array(z.string()),
  freedBytes: z.number(),
  decisions: z.array(z.object({ folder: z.string(), target: z.string().nullable(), label: z.string().nullable(), status: z.string(), action: z.enum(['keep', 'remove']), reason: z.string() })),
});

export const pruneBackups: Command<typeof pruneOptionsSchema, typeof output> = {
  name: 'prune-backups',
  input: pruneOptionsSchema,
  output,
  cli: { examples: ['dbops prune-backups --dry-run', 'dbops prune-backups --target prod'] },
  target: () => undefined,
  async run(input, ctx) {
    const { pruneBackups: prune } = await import('../engine/lifecycle/prune-backups.js');
    const r = await prune(input, ctx);
    return { root: r.root, dryRun: r.dryRun, removed: r.removed, freedBytes: r.freedBytes, decisions: r.decisions };
  },
  succeeded: () => true,
  summary: (r) => `${r.dryRun ? 'Would remove' : 'Removed'} ${r.decisions.filter((d) => d.action === 'remove').length} of ${r.decisions.length} folders.`,
  text(r) {
    const remove = r.decisions.filter((d) => d.action === 'remove');
    return [
      `${r.dryRun ? 'Dry run: would remove' : 'Removed'} ${remove.length} of ${r.decisions.length} folders in ${r.root} (${formatBytes(r.freedBytes)}).`,
      ...r.decisions.map((d) => `   ${d.action === 'keep' ? 'keep  ' : r.dryRun ? 'remove?' : 'removed'} ${d.folder} — ${d.reason}`),
    ].join('\n');
  },
  mcp: {
    tool: 'prune_backups',
    title: 'Prune old backups',
    description: 'Apply the retention policy to the backups directory. DESTRUCTIVE unless dryRun: deletes backup folders the policy does not keep.',
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    input: agentInput({ ...pruneOptionsSchema.shape, target: name(describedAs(pruneOptionsSchema, 'target')).optional() }),
    prepare: async (args) => args,
  },
};
