import { z } from 'zod';
import { listOptionsSchema } from '../engine/options/list-options.js';
import { agentInput, describedAs, name } from '../mcp/limits.js';
import type { Command } from './command.js';
import { formatAge, formatBytes } from './format.js';

// list-backups: the backups directory, newest first, with each folder's status.

const ICON = { valid: '✅', legacy: '🗄 ', incomplete: '⏳', corrupt: '❌' } as const;

const output = z.object({
  root: z.string(),
  backups: z.array(z.object({
    folder: z.string(), status: z.enum(['valid', 'incomplete', 'corrupt', 'legacy']), createdAt: z.string().nullable(), target: z.string().nullable(),
    label: z.string().nullable(), mode: z.string().nullable(), bytes: z.number(), ageMs: z.number().nullable(), problem: z.string().nullable(),
  })),
});

export const listBackups: Command<typeof listOptionsSchema, typeof output> = {
  name: 'list-backups',
  input: listOptionsSchema,
  output,
  readOnly: true,
  cli: { examples: ['dbops list-backups', 'dbops list-backups --target prod --json'] },
  target: () => undefined,
  async run(input, ctx) {
    const { listBackups: list } = await import('../engine/lifecycle/list-backups.js');
    const { root, backups } = await list(input, ctx);
    return { root, backups: backups.map(({ folder, status, createdAt, target, label, mode, bytes, ageMs, problem }) => ({ folder, status, createdAt, target, label, mode, bytes, ageMs, problem })) };
  },
  succeeded: () => true,
  summary: (r) => `${r.backups.length} backup folders, ${r.backups.filter((b) => b.status === 'valid').length} valid.`,
  text(r) {
    if (r.backups.length === 0) return `No backups in ${r.root}.`;
    return [
      `Backups in ${r.root} (newest first):`,
      'STATUS        CREATED (UTC)        TARGET    LABEL          MODE     SIZE       AGE          FOLDER',
      ...r.backups.map((b) =>
        [
          `${ICON[b.status]} ${b.status}`.padEnd(13),
          (b.createdAt?.replace('T', ' ').slice(0, 19) ?? '—').padEnd(20),
          (b.target ?? '—').padEnd(9),
          (b.label ?? '—').padEnd(14),
          (b.mode ?? '—').padEnd(8),
          formatBytes(b.bytes).padEnd(10),
          (b.ageMs === null ? '—' : formatAge(b.ageMs)).padEnd(12),
          b.folder,
        ].join(' '),
      ),
      ...r.backups.filter((b) => b.problem && b.status !== 'incomplete').map((b) => `  ${b.folder}: ${b.problem}`),
    ].join('\n');
  },
  mcp: {
    tool: 'list_backups',
    title: 'List backups',
    description: 'List the backups in the backups directory, newest first, with status valid, incomplete, corrupt or legacy.',
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    input: agentInput({ target: name(describedAs(listOptionsSchema, 'target')).optional() }),
    prepare: async (args) => args,
  },
};
