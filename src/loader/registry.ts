import { DbopsError } from '../engine/errors.js';
import type { CommandBinding } from '../surface/binding.js';
import { loadArtifacts, type CommandDoc, type SkillDoc } from './load-artifacts.js';

// The command surface: each Markdown command joined with its typed binding. The Markdown is
// the source of truth for names, descriptions, argument hints and versions; a command file
// without a binding, or a binding without a file, is an error.

export interface RegisteredCommand {
  name: string;
  doc: CommandDoc;
  binding: CommandBinding;
}

export interface Registry {
  commands: RegisteredCommand[];
  skills: SkillDoc[];
  find(name: string): RegisteredCommand | undefined;
}

export async function buildRegistry(root: string, bindings: readonly CommandBinding[]): Promise<Registry> {
  const { commands, skills } = await loadArtifacts(root);
  const problems: string[] = [];
  for (const doc of commands) if (!bindings.some((b) => b.name === doc.name)) problems.push(`${doc.file}: no engine binding for command "${doc.name}"`);
  for (const b of bindings) if (!commands.some((c) => c.name === b.name)) problems.push(`commands/${b.name}.md: missing (the ${b.name} binding needs its command file)`);
  if (problems.length > 0) throw new DbopsError('ARTIFACTS_INVALID', problems.join('; '), { details: problems });
  const registered = commands.map((doc) => ({ name: doc.name, doc, binding: bindings.find((b) => b.name === doc.name)! }));
  return { commands: registered, skills, find: (name) => registered.find((c) => c.name === name) };
}
