import { printError } from '../cli/output.js';
import { runDemo } from './run-demo.js';

process.exitCode = await runDemo().catch((error: unknown) => printError(error, false));
