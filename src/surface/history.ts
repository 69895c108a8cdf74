import { parseConnectionUrl } from '../engine/connection.js';
import { parseInput } from '../engine/input.js';
import { resolveTarget } from '../engine/targets.js';
import { historyOptionsSchema, queryHistory, type HistoryOptions, type HistoryRun } from '../reporting/history.js';
import { intOption, stringOption } from './args.js';
import type { CommandBinding } from './binding.js';
import { formatDuration } from './format.js';

// `dbops history`: who ran which command, when, and how it ended.

export const history: CommandBinding<HistoryOptions, HistoryRun[]> = {
  name: 'history',
  inputSchema: historyOptionsSchema,
  options: () => ({
    artifact: { type: 'string' },
    status: { type: 'string' },
    since: { type: 'string' },
    limit: { type: 'string' },
    target: { type: 'string' },
    url: { type: 'string' },
  }),
  maxPositionals: 0,
  fromArgv: ({ values: v }) => ({
    artifact: stringOption(v.artifact),
    status: stringOption(v.status),
    since: stringOption(v.since),
    limit: intOption('history', 'limit', v.limit),
    target: stringOption(v.target),
    url: stringOption(v.url),
  }),
  targetChoice: (input) => ({ target: input.target, url: input.url }),
  async run(raw, ctx) {
    const input = parseInput('history', historyOptionsSchema, raw);
    // The same database the events were written to: DBOPS_EVENTS_URL, else DATABASE_URL, else the target.
    const fromEnv = ['DBOPS_EVENTS_URL', 'DATABASE_URL'].find((k) => ctx.env[k]);
    const spec =
      input.url !== undefined || input.target !== undefined || fromEnv === undefined
        ? resolveTarget(ctx.config, input, ctx.env).spec
        : parseConnectionUrl(ctx.env[fromEnv]!, fromEnv);
    return queryHistory(spec, input);
  },
  succeeded: () => true,
  toJson: (runs) => ({ ok: true, runs }),
  toText(runs) {
    if (runs.length === 0) return 'No runs recorded yet.';
    const icon = { completed: '✅', failed: '❌', running: '⏳' } as const;
    return [
      'STARTED (UTC)         DURATION   TRIGGER  COMMAND        OUTCOME     DETAIL',
      ...runs.map((r) =>
        [
          r.startedAt.replace('T', ' ').slice(0, 19).padEnd(21),
          (r.durationMs === null ? '—' : formatDuration(r.durationMs)).padEnd(10),
          (r.trigger ?? '—').padEnd(8),
          r.command.padEnd(14),
          `${icon[r.status]} ${r.status}`.padEnd(11),
          r.detail ?? '',
        ].join(' '),
      ),
    ].join('\n');
  },
  eventDetails: (runs) => ({ counts: { runs: runs.length } }),
};
