import { createInterface } from 'node:readline/promises';
import type { RegisteredCommand, Registry } from '../loader/registry.js';
import { parseSlashLine } from '../loader/slash-line.js';
import { invoke, type Trigger } from '../reporting/invoke.js';
import { parseCommandArgs, type OptionSpec } from '../surface/args.js';
import type { CommandIO } from '../surface/binding.js';
import { cliContext } from './context.js';
import { commandHelp } from './help.js';
import { EXIT_FAILURE, EXIT_OK, printJson, printText } from './output.js';
import { resolveUrlSource, URL_SOURCE_OPTIONS } from './url-source.js';

// One registry command from argv (CLI) or from a slash line, through invoke().

/** Every command takes these; the bindings declare only their own flags. */
const COMMON_OPTIONS: OptionSpec = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } };

async function askOnTerminal(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

export async function runCommandLine(command: RegisteredCommand, argv: string[], trigger: Trigger, signal: AbortSignal): Promise<number> {
  const ctx = cliContext(signal);
  const own = command.binding.options(ctx.config);
  const takesUrl = 'url' in own;
  const args = parseCommandArgs(command.name, argv, { ...own, ...(takesUrl ? URL_SOURCE_OPTIONS : {}), ...COMMON_OPTIONS }, command.binding.maxPositionals);
  if (args.values.help === true) {
    printText(commandHelp(command.doc));
    return EXIT_OK;
  }
  if (takesUrl) resolveUrlSource(command.name, args.values, ctx.env);
  const json = args.values.json === true;
  const person = !json && process.stderr.isTTY === true;
  const io: CommandIO = {
    progress: person ? (line) => process.stderr.write(`  … ${line}\n`) : () => undefined,
    ask: person && process.stdin.isTTY === true ? askOnTerminal : undefined,
    notice: json ? undefined : (text) => process.stderr.write(`${text}\n`),
  };
  const { result } = await invoke(command, command.binding.fromArgv(args, ctx.config), trigger, ctx, io);
  if (json) printJson(command.binding.toJson(result));
  else printText(command.binding.toText(result, process.cwd()));
  return command.binding.succeeded(result) ? EXIT_OK : EXIT_FAILURE;
}

export async function runSlashLine(registry: Registry, line: string, signal: AbortSignal): Promise<number> {
  const { command, argv } = parseSlashLine(line, registry);
  return runCommandLine(command, argv, 'slash', signal);
}
