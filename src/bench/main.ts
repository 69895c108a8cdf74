import { printError } from '../cli/output.js';
import { parseBenchArgs, runBench } from './run-bench.js';

// npm run bench [-- --quick | --scale MB] [--runs N]
process.exitCode = await Promise.resolve()
  .then(() => runBench(parseBenchArgs(process.argv.slice(2))))
  .then(
    () => process.exitCode ?? 0,
    (error: unknown) => printError(error, false),
  );
