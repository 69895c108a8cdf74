import type { AnyCommand, CommandModules } from '../commands/command.js';
import { DbopsError } from '../engine/errors.js';
import { loadArtifacts, type CommandDoc, type SkillDoc } from './load-artifacts.js';

// The command surface: each Markdown command joined with its command module. The Markdown gives
// the slash command, its description and version; the module gives everything else. A command
// file without a module, or a module without a file, is an error. A catalog loads a command's
// module when it is asked for (the CLI runs one command); a registry has them all loaded (the
// MCP server lists them all).

/** A command as its Markdown file describes it. */
export interface CommandEntry {
  name: string;
  doc: CommandDoc;
}

/** A command with its module loaded. */
export interface RegisteredCommand extends CommandEntry {
  command: AnyCommand;
}

export interface Catalog<Entry extends CommandEntry = CommandEntry> {
  commands: Entry[];
  skills: SkillDoc[];
  find(name: string): Entry | undefined;
  /** The entry with its module. */
  load(entry: CommandEntry): Promise<RegisteredCommand>;
}

export type Registry = Catalog<RegisteredCommand>;

export async function buildCatalog(root: string, modules: CommandModules): Promise<Catalog> {
  const { commands, skills } = await loadArtifacts(root);
  const names = Object.keys(modules);
  const problems: string[] = [];
  for (const doc of commands) if (!names.includes(doc.name)) problems.push(`${doc.file}: no command module for "${doc.name}" (src/commands/)`);
  for (const name of names)
    if (!commands.some((c) => c.name === name)) problems.push(`commands/${name}.md: missing (the ${name} command needs its Markdown file)`);
  if (problems.length > 0) throw new DbopsError('ARTIFACTS_INVALID', problems.join('; '), { details: problems });
  const entries: CommandEntry[] = commands.map((doc) => ({ name: doc.name, doc }));
  return { commands: entries, skills, find: (name) => entries.find((c) => c.name === name), load: (entry) => loadEntry(entry, modules) };
}

export async function buildRegistry(root: string, modules: CommandModules): Promise<Registry> {
  const catalog = await buildCatalog(root, modules);
  const registered = await Promise.all(catalog.commands.map((entry) => loadEntry(entry, modules)));
  const find = (name: string) => registered.find((c) => c.name === name);
  return { commands: registered, skills: catalog.skills, find, load: async (entry) => find(entry.name) ?? loadEntry(entry, modules) };
}

async function loadEntry(entry: CommandEntry, modules: CommandModules): Promise<RegisteredCommand> {
  const command = await modules[entry.name]!();
  if (command.name !== entry.name)
    throw new DbopsError('INTERNAL', `The module listed as "${entry.name}" is the "${command.name}" command (src/commands/index.ts).`);
  return { ...entry, command };
}
