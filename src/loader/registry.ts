import type { AnyCommand } from '../commands/command.js';
import { DbopsError } from '../engine/errors.js';
import { loadArtifacts, type CommandDoc, type SkillDoc } from './load-artifacts.js';

// The command surface: each Markdown command joined with its command module. The Markdown gives
// the slash command, its description and version; the module gives everything else. A command
// file without a module, or a module without a file, is an error.

export interface RegisteredCommand {
  name: string;
  doc: CommandDoc;
  command: AnyCommand;
}

export interface Registry {
  commands: RegisteredCommand[];
  skills: SkillDoc[];
  find(name: string): RegisteredCommand | undefined;
}

export async function buildRegistry(root: string, modules: readonly AnyCommand[]): Promise<Registry> {
  const { commands, skills } = await loadArtifacts(root);
  const problems: string[] = [];
  for (const doc of commands) if (!modules.some((m) => m.name === doc.name)) problems.push(`${doc.file}: no command module for "${doc.name}" (src/commands/)`);
  for (const m of modules)
    if (!commands.some((c) => c.name === m.name)) problems.push(`commands/${m.name}.md: missing (the ${m.name} command needs its Markdown file)`);
  if (problems.length > 0) throw new DbopsError('ARTIFACTS_INVALID', problems.join('; '), { details: problems });
  const registered = commands.map((doc) => ({ name: doc.name, doc, command: modules.find((m) => m.name === doc.name)! }));
  return { commands: registered, skills, find: (name) => registered.find((c) => c.name === name) };
}
