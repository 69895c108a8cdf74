import cliProgress from 'cli-progress';
import type { CommandIO } from '../commands/command.js';

// Progress while a command runs, on stderr (stdout is the result's). On a terminal: a live bar
// (tables done / total, rate, ETA) from cli-progress, with the current step beside it, and no
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
      if (step !== undefined && verbosity !== 'verbose' && step.done > 0 && step.done < step.total && now - lastTableLine < 2000) return;
      if (step !== undefined) lastTableLine = now;
      const at = step === undefined ? '' : ` (${step.done}/${step.total})`;
      stream.write(`${new Date(now).toISOString()} ${command}: ${message}${at}\n`);
    },
    stop: () => undefined,
  };
}

function liveProgress(stream: NodeJS.WriteStream): Progress {
  let bar: cliProgress.SingleBar | undefined;
  return {
    progress(message, step) {
      if (step === undefined) {
        if (bar === undefined) stream.write(`  … ${message}\n`);
        else bar.update({ step: message.slice(0, 60) });
        return;
      }
      if (bar === undefined) {
        bar = new cliProgress.SingleBar(
          { stream, format: '  [{bar}] {value}/{total} | {eta_formatted} left | {step}', hideCursor: true, clearOnComplete: true, etaBuffer: 20 },
          cliProgress.Presets.legacy,
        );
        bar.start(step.total, step.done, { step: message.slice(0, 60) });
      } else {
        bar.setTotal(step.total);
        bar.update(step.done, { step: message.slice(0, 60) });
      }
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
