import { cutShort, DbopsError } from '../engine/errors.js';
import type { CommandEntry } from './registry.js';
import { shellWords } from './shell-words.js';

// "/backup-db --no-transient" as a person types it in the assistant. The command body runs
// `npx dbops backup-db $ARGUMENTS` in a shell, so the arguments are split the way bash splits
// them (quotes included, shell-words.ts); shell operators and expansions are refused, not run.

export interface SlashInvocation<Entry extends CommandEntry = CommandEntry> {
  command: Entry;
  /** The argument string exactly as typed ($ARGUMENTS). */
  argumentsText: string;
  argv: string[];
}

export function parseSlashLine<Entry extends CommandEntry>(
  line: string,
  registry: { commands: readonly Entry[]; find(name: string): Entry | undefined },
): SlashInvocation<Entry> {
  const trimmed = line.trim();
  const match = /^\/([A-Za-z0-9_-]+)([\s\S]*)$/.exec(trimmed);
  const known = registry.commands.map((c) => `/${c.name}`).join(', ');
  if (!match) throw new DbopsError('USAGE', `A slash line starts with /command (known: ${known}); got "${cutShort(trimmed)}".`);
  const name = match[1]!;
  const command = registry.find(name);
  if (!command) throw new DbopsError('COMMAND_UNKNOWN', `Unknown command /${cutShort(name)}; known commands: ${known}.`);
  const argumentsText = (match[2] ?? '').trim();
  const split = shellWords(argumentsText);
  if ('refused' in split) {
    throw new DbopsError('USAGE', `/${name}: arguments may not contain ${split.refused}; pass plain options (${command.doc.frontmatter['argument-hint']}).`);
  }
  return { command, argumentsText, argv: split.words };
}
