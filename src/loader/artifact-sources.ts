import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

// Which files the loader reads, and their text: commands/*.md and skills/<name>/SKILL.md under
// a root, in a stable order. Kept apart from their parsing, so the text can be looked up in the
// frontmatter cache before any YAML library is loaded. Read synchronously: a dozen small files
// that every start waits for anyway, read in ~1 ms, where fs/promises' four thread-pool round
// trips per file took ~4 ms.

export interface ArtifactSource {
  kind: 'command' | 'skill';
  /** The file relative to the root, e.g. commands/backup-db.md: what errors name. */
  label: string;
  /** Undefined when a skill folder has no SKILL.md. */
  text: string | undefined;
}

function listMarkdown(dir: string): string[] {
  return orNone(() => readdirSync(dir))
    .filter((e) => e.endsWith('.md'))
    .sort();
}

function listSkillFiles(dir: string): string[] {
  return orNone(() => readdirSync(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => path.join(e.name, 'SKILL.md'))
    .sort();
}

/** A folder that cannot be listed has no files. */
function orNone<T>(list: () => T[]): T[] {
  try {
    return list();
  } catch {
    return [];
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

export function readArtifactSources(root: string): ArtifactSource[] {
  return [
    ...listMarkdown(path.join(root, 'commands')).map(
      (f): ArtifactSource => ({ kind: 'command', label: `commands/${f}`, text: readText(path.join(root, 'commands', f)) }),
    ),
    ...listSkillFiles(path.join(root, 'skills')).map(
      (f): ArtifactSource => ({ kind: 'skill', label: `skills/${f}`, text: readText(path.join(root, 'skills', f)) }),
    ),
  ];
}
