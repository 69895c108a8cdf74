import cliProgress from 'cli-progress';
import type { CommandIO } from '../commands/command.js';
import { formatBytes } from '../commands/format.js';

// Progress while a command runs, on stderr (stdout is the result's). On a terminal: a live bar
// (tables done / total, bytes written and their rate, ETA) from cli-progress, with the current step beside it, and no
// colours (NO_COLOR or not, none are used). Off a terminal (CI, cron, an agent's shell): one
// timestamped line per step; per-table lines at most every 2 s unless --verbose. --quiet: none.

export type Verbosity = 'quiet' | 'normal' | 'verbose';

export interface Progress {
  progress: CommandIO['progress'];
  /** Stops the live display before the result is printed. */
  stop(): void;
}

export function progressFor(command: string, verbosity: Verbosity, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (verbosity === 'quiet') return { progress: () => undefined, stop: () => undefined };
  if (stream.isTTY === true) return liveProgress(stream);
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

function liveProgress(stream: NodeJS.WriteStream): Progress {
  let bar: cliProgress.SingleBar | undefined;
  let started = 0;
  /** "12.3 MB at 4.1 MB/s | " once something is written, else nothing. */
  const written = (bytes: number | undefined) => {
    if (!bytes) return '';
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    return `${formatBytes(bytes)} at ${formatBytes(bytes / seconds)}/s | `;
  };
  return {
    progress(message, step) {
      if (step === undefined) {
        if (bar === undefined) stream.write(`  … ${message}\n`);
        else bar.update({ step: message.slice(0, 60) });
        return;
      }
      if (bar === undefined) {
        started = Date.now();
        bar = new cliProgress.SingleBar(
          { stream, format: '  [{bar}] {value}/{total} | {written}{eta_formatted} left | {step}', hideCursor: true, clearOnComplete: true, etaBuffer: 20 },
          cliProgress.Presets.legacy,
        );
        bar.start(step.total, step.done, { step: message.slice(0, 60), written: written(step.bytes) });
      } else {
        bar.setTotal(step.total);
        bar.update(step.done, { step: message.slice(0, 60), written: written(step.bytes) });
      }
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
