import { writeFileSync } from 'node:fs';

// Loaded into a dbops process by the benchmark (NODE_OPTIONS=--import=…): when the process
// exits, its peak resident set size (KiB) goes to DBOPS_BENCH_RSS_FILE. The process measured
// is the real CLI, not a copy of the engine running inside the benchmark.

const file = process.env.DBOPS_BENCH_RSS_FILE;
if (file !== undefined && file !== '') {
  process.on('exit', () => {
    try {
      writeFileSync(file, String(process.resourceUsage().maxRSS));
    } catch {
      // A figure lost is reported as missing by the benchmark; it must never fail the command.
    }
  });
}
