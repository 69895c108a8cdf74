import cliProgress from 'cli-progress';
import { formatBytes } from '../commands/format.js';
import type { Progress } from './progress.js';

// The live progress display on a terminal (progress.ts chooses it): a bar of tables done / total,
// bytes written and their rate, ETA, with the current step beside it.

export function liveProgress(stream: NodeJS.WriteStream): Progress {
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
