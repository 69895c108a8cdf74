import * as z from 'zod';
import { historyOptionsSchema } from '../reporting/history-options.js';
import { agentInput, describedAs, name } from '../mcp/limits.js';
import type { Command } from './command.js';
import { formatDuration } from './format.js';

// history: who ran which command, when, from where, and how it ended (code_ops.artifact_runs).

const output = z.object({
  runs: z.array(
    z.object({
      runId: z.string(),
      command: z.string(),
      version: z.string().nullable(),
      startedAt: z.string(),
      durationMs: z.number().nullable(),
      status: z.enum(['completed', 'failed', 'running']),
      trigger: z.string().nullable(),
      target: z.string().nullable(),
      detail: z.string().nullable(),
    }),
  ),
});

export const history: Command<typeof historyOptionsSchema, typeof output> = {
  name: 'history',
  input: historyOptionsSchema,
  output,
  readOnly: true,
  cli: { examples: ['dbops history', 'dbops history --artifact backup-db --status failed --since 7d --limit 20 --json'] },
  target: (input) => ({ target: input.target, url: input.url }),
  async run(input, ctx) {
    const [{ queryHistory }, { eventsDatabaseFor }] = await Promise.all([import('../reporting/history.js'), import('../reporting/events-database.js')]);
    // The database the events were written to, or the one named.
    const spec = eventsDatabaseFor(ctx, { target: input.target, url: input.url });
    if (spec === undefined) return { runs: [] };
    return { runs: await queryHistory(spec, input) };
  },
  succeeded: () => true,
  summary: (r) => `${r.runs.length} runs.`,
  text(r) {
    if (r.runs.length === 0) return 'No runs recorded yet.';
    const icon = { completed: '✅', failed: '❌', running: '⏳' } as const;
    return [
      'STARTED (UTC)         DURATION   TRIGGER  COMMAND        OUTCOME     DETAIL',
      ...r.runs.map((run) =>
        [
          run.startedAt.replace('T', ' ').slice(0, 19).padEnd(21),
          (run.durationMs === null ? '—' : formatDuration(run.durationMs)).padEnd(10),
          (run.trigger ?? '—').padEnd(8),
          run.command.padEnd(14),
          `${icon[run.status]} ${run.status}`.padEnd(11),
          run.detail ?? '',
        ].join(' '),
      ),
    ].join('\n');
  },
  mcp: {
    tool: 'artifact_history',
    title: 'Invocation history',
    description: 'Runs of dbops commands from code_ops.artifact_events, newest first: start, duration, trigger (cli, slash, mcp), outcome, key detail.',
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    input: agentInput({
      ...historyOptionsSchema.omit({ url: true }).shape,
      artifact: z.string().min(1).max(100).optional().describe(describedAs(historyOptionsSchema, 'artifact')),
      // "7d", "12h": a few digits are enough, and more would overflow the interval.
      since: z
        .string()
        .max(6)
        .regex(/^\d{1,5}[mhdw]$/, 'use a number and m, h, d or w, e.g. 7d')
        .optional()
        .describe(describedAs(historyOptionsSchema, 'since')),
      target: name(describedAs(historyOptionsSchema, 'target')).optional(),
    }),
    prepare: async (args) => args,
  },
};
