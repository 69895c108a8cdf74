import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';

// Which files the loader reads, and their text: commands/*.md and skills/<name>/SKILL.md under
// a root, in a stable order. Kept apart from their parsing, so the text can be looked up in the
// frontmatter cache before any YAML library is loaded.

export interface ArtifactSource {
  kind: 'command' | 'skill';
  /** The file relative to the root, e.g. commands/backup-db.md: what errors name. */
  label: string;
  /** Undefined when a skill folder has no SKILL.md. */
  text: string | undefined;
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

export async function readArtifactSources(root: string): Promise<ArtifactSource[]> {
  const [commandFiles, skillFiles] = await Promise.all([listMarkdown(path.join(root, 'commands')), listSkillFiles(path.join(root, 'skills'))]);
  const read = (file: string) => readFile(path.join(root, file), 'utf8').catch(() => undefined);
  return Promise.all([
    ...commandFiles.map(async (f): Promise<ArtifactSource> => ({ kind: 'command', label: `commands/${f}`, text: await read(path.join('commands', f)) })),
    ...skillFiles.map(async (f): Promise<ArtifactSource> => ({ kind: 'skill', label: `skills/${f}`, text: await read(path.join('skills', f)) })),
  ]);
}
