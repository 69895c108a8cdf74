import { printError } from '../cli/output.js';
import { runBench } from './run-bench.js';

process.exitCode = await runBench().then(() => 0, (error: unknown) => printError(error, false));
