import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import matter from 'gray-matter';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { DbopsError } from '../engine/errors.js';
import { commandFrontmatterSchema, skillFrontmatterSchema, unknownKeys, type CommandFrontmatter, type SkillFrontmatter } from './frontmatter.js';

// commands/*.md and skills/<name>/SKILL.md → validated documents. Every problem in every file
// is collected, so one run reports them all, each naming the file and the field.

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

async function listMarkdown(dir: string): Promise<string[]> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  return entries.filter((e) => e.endsWith('.md')).sort();
}

async function listSkillFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => path.join(e.name, 'SKILL.md'))
    .sort();
}

function parseFile<S extends z.ZodType>(
  schema: S,
  kind: 'command' | 'skill',
  text: string,
  label: string,
  problems: string[],
): { data: z.output<S>; body: string } | undefined {
  let parsed: matter.GrayMatterFile<string>;
  try {
    // One YAML parser for everything dbops reads (the `yaml` package, YAML 1.2, as for
    // dbops.config.yaml), not gray-matter's bundled js-yaml. A fresh options object also keeps
    // gray-matter from caching by content across files.
    parsed = matter(text, { engines: { yaml: (source: string) => (parseYaml(source) ?? {}) as object } });
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
  const problems: string[] = [];
  const commands: CommandDoc[] = [];
  const skills: SkillDoc[] = [];
  for (const file of await listMarkdown(path.join(root, 'commands'))) {
    const label = `commands/${file}`;
    const parsed = parseFile(commandFrontmatterSchema, 'command', await readFile(path.join(root, 'commands', file), 'utf8'), label, problems);
    if (parsed) commands.push({ name: file.replace(/\.md$/, ''), file: label, frontmatter: parsed.data, body: parsed.body });
  }
  for (const file of await listSkillFiles(path.join(root, 'skills'))) {
    const label = `skills/${file}`;
    const text = await readFile(path.join(root, 'skills', file), 'utf8').catch(() => undefined);
    if (text === undefined) {
      problems.push(`${label}: missing (every skill folder needs a SKILL.md)`);
      continue;
    }
    const parsed = parseFile(skillFrontmatterSchema, 'skill', text, label, problems);
    if (!parsed) continue;
    const folder = path.dirname(file);
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
