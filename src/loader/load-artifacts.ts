import type { z } from 'zod';
import { DbopsError } from '../engine/errors.js';
import { readArtifactSources, type ArtifactSource } from './artifact-sources.js';
import { commandFrontmatterSchema, skillFrontmatterSchema, unknownKeys, type CommandFrontmatter, type SkillFrontmatter } from './frontmatter.js';
import { readFrontmatterCache, textDigest, type FrontmatterCache } from './frontmatter-cache.js';
import type { ParsedFrontmatter } from './parse-frontmatter.js';

// commands/*.md and skills/<name>/SKILL.md → validated documents. Every problem in every file
// is collected, so one run reports them all, each naming the file and the field. The YAML parse
// of a file comes from the build's cache when its text is unchanged (frontmatter-cache.ts);
// validation always runs.

export interface CommandDoc {
  name: string;
  file: string;
  frontmatter: CommandFrontmatter;
  body: string;
}

export interface SkillDoc {
  name: string;
  file: string;
  frontmatter: SkillFrontmatter;
  body: string;
}

export interface Artifacts {
  commands: CommandDoc[];
  skills: SkillDoc[];
}

type Parse = (text: string) => ParsedFrontmatter;

/** Cached parses first; gray-matter is loaded only for a text the cache does not hold. */
async function frontmatterParser(cache: FrontmatterCache, sources: readonly ArtifactSource[]): Promise<Parse> {
  const missing = sources.some((s) => s.text !== undefined && !cache.has(textDigest(s.text)));
  const parse = missing ? (await import('./parse-frontmatter.js')).parseFrontmatter : undefined;
  return (text) => cache.get(textDigest(text)) ?? parse!(text);
}

function validate<S extends z.ZodType>(
  schema: S,
  kind: 'command' | 'skill',
  text: string,
  parse: Parse,
  label: string,
  problems: string[],
): { data: z.output<S>; body: string } | undefined {
  let parsed: ParsedFrontmatter;
  try {
    parsed = parse(text);
  } catch (error) {
    problems.push(`${label}: frontmatter is not valid YAML (${(error as Error).message.split('\n')[0]})`);
    return undefined;
  }
  const result = schema.safeParse(parsed.data);
  const unknown = unknownKeys(parsed.data, kind);
  if (!result.success || unknown.length > 0) {
    for (const issue of result.success ? [] : result.error.issues) problems.push(`${label}: ${issue.path.join('.') || 'frontmatter'}: ${issue.message}`);
    for (const line of unknown) problems.push(`${label}: frontmatter: ${line}`);
    return undefined;
  }
  return { data: result.data, body: parsed.content };
}

export async function loadArtifacts(root: string): Promise<Artifacts> {
  const sources = readArtifactSources(root);
  const cache = readFrontmatterCache(root);
  const parse = await frontmatterParser(cache, sources);
  const problems: string[] = [];
  const commands: CommandDoc[] = [];
  const skills: SkillDoc[] = [];
  for (const { kind, label, text } of sources) {
    if (text === undefined) {
      problems.push(kind === 'skill' ? `${label}: missing (every skill folder needs a SKILL.md)` : `${label}: cannot be read`);
      continue;
    }
    if (kind === 'command') {
      const parsed = validate(commandFrontmatterSchema, 'command', text, parse, label, problems);
      if (parsed) commands.push({ name: label.slice('commands/'.length, -'.md'.length), file: label, frontmatter: parsed.data, body: parsed.body });
      continue;
    }
    const parsed = validate(skillFrontmatterSchema, 'skill', text, parse, label, problems);
    if (!parsed) continue;
    const folder = label.split('/')[1]!;
    if (parsed.data.name !== folder) problems.push(`${label}: name: "${parsed.data.name}" must equal its folder name "${folder}"`);
    skills.push({ name: parsed.data.name, file: label, frontmatter: parsed.data, body: parsed.body });
  }
  linkReferences(commands, skills, problems);
  if (problems.length > 0) {
    throw new DbopsError('ARTIFACTS_INVALID', `${problems.length} problem(s) in commands/ and skills/: ${problems.join('; ')}`, { details: problems });
  }
  return { commands, skills };
}

function linkReferences(commands: CommandDoc[], skills: SkillDoc[], problems: string[]): void {
  const commandNames = commands.map((c) => c.name);
  const skillNames = skills.map((s) => s.name);
  for (const c of commands) {
    for (const s of c.frontmatter['uses-skills'])
      if (!skillNames.includes(s)) problems.push(`${c.file}: uses-skills: unknown skill "${s}" (known: ${skillNames.join(', ')})`);
    for (const r of c.frontmatter['related-commands'])
      if (!commandNames.includes(r)) problems.push(`${c.file}: related-commands: unknown command "${r}" (known: ${commandNames.join(', ')})`);
  }
  for (const s of skills) {
    for (const r of s.frontmatter['related-skills'])
      if (!skillNames.includes(r)) problems.push(`${s.file}: related-skills: unknown skill "${r}" (known: ${skillNames.join(', ')})`);
  }
}
