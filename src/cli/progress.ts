import type { CommandIO } from '../commands/command.js';
import { formatBytes } from '../commands/format.js';

// Progress while a command runs, on stderr (stdout is the result's). On a terminal: a live bar
// (tables done / total, bytes written and their rate, ETA; live-progress.ts), with the current step beside it, and no
// colours (NO_COLOR or not, none are used). Off a terminal (CI, cron, an agent's shell): one
// timestamped line per step; per-table lines at most every 2 s unless --verbose. --quiet: none.

export type Verbosity = 'quiet' | 'normal' | 'verbose';

export interface Progress {
  progress: CommandIO['progress'];
  /** Stops the live display before the result is printed. */
  stop(): void;
}

export async function progressFor(command: string, verbosity: Verbosity, stream: NodeJS.WriteStream = process.stderr): Promise<Progress> {
  if (verbosity === 'quiet') return { progress: () => undefined, stop: () => undefined };
  // The live bar's library (and Node's readline under it) loads only where there is a terminal.
  if (stream.isTTY === true) return (await import('./live-progress.js')).liveProgress(stream);
  let lastTableLine = 0;
  return {
    progress(message, step) {
      const now = Date.now();
      // Per-table lines and byte counts at most one per 2 s (the first and last table always) unless --verbose.
      if (step !== undefined && verbosity !== 'verbose' && (step.update === true || (step.done > 0 && step.done < step.total)) && now - lastTableLine < 2000)
        return;
      if (step !== undefined) lastTableLine = now;
      const at = step === undefined ? '' : ` (${step.done}/${step.total}${step.bytes ? `, ${formatBytes(step.bytes)} written` : ''})`;
      stream.write(`${new Date(now).toISOString()} ${command}: ${message}${at}\n`);
    },
    stop: () => undefined,
  };
}
