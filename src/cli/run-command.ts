import type { CommandIO } from '../commands/command.js';
import { parseCommandLine } from '../commands/flags.js';
import { commandHelp } from '../commands/help.js';
import { invoke, type Trigger } from '../dispatch/invoke.js';
import type { Catalog, RegisteredCommand } from '../loader/registry.js';
import { parseSlashLine } from '../loader/slash-line.js';
import { processContext } from '../dispatch/process-context.js';
import { EXIT_FAILURE, EXIT_OK, printJson, printText } from './output.js';
import { progressFor } from './progress.js';
import { resolveUrlSource } from './url-source.js';

// One command from argv (CLI) or from a slash line: flags made from the command's schema,
// invoke(), then its text or its output as JSON.

async function askOnTerminal(question: string): Promise<boolean> {
  // Loaded only when a person is asked: most runs ask nobody.
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

export async function runCommandLine(registered: RegisteredCommand, argv: string[], trigger: Trigger, signal: AbortSignal): Promise<number> {
  const ctx = processContext(signal);
  const { command, doc } = registered;
  const line = parseCommandLine(command, argv, ctx.config);
  if (line.help) {
    printText(commandHelp(command, doc.frontmatter.description, ctx.config));
    return EXIT_OK;
  }
  if (line.urlSource !== undefined) resolveUrlSource(command.name, line.input, line.urlSource, ctx.env, ctx.root);
  const person = !line.json && process.stdin.isTTY === true && process.stderr.isTTY === true;
  const display = await progressFor(command.name, line.verbosity);
  const io: CommandIO = {
    progress: display.progress,
    ask: person ? askOnTerminal : undefined,
    notice: line.json || line.verbosity === 'quiet' ? undefined : (text) => process.stderr.write(`${text}\n`),
  };
  try {
    const { output } = await invoke(command, line.input, trigger, ctx, io, { version: doc.frontmatter.version, readOnly: command.readOnly === true });
    display.stop();
    if (line.json) printJson({ ok: command.succeeded(output), ...(output as Record<string, unknown>) });
    else printText(command.text(output, process.cwd()));
    return command.succeeded(output) ? EXIT_OK : EXIT_FAILURE;
  } finally {
    display.stop();
  }
}

export async function runSlashLine(catalog: Catalog, line: string, signal: AbortSignal): Promise<number> {
  const { command, argv } = parseSlashLine(line, catalog);
  return runCommandLine(await catalog.load(command), argv, 'slash', signal);
}
