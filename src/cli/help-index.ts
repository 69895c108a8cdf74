import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

// What `dbops --help` and `dbops <command> --help` print comes from two frontmatter lines of
// each commands/*.md. Reading just those lines keeps YAML and schema libraries out of the help
// path (they were most of its start-up time). A file whose two lines are anything but simple
// one-line scalars returns undefined, and the caller falls back to the full, validating loader.
// Read synchronously, as the loader reads them (src/loader/artifact-sources.ts).

export interface CommandSummary {
  name: string;
  frontmatter: { description: string; 'argument-hint': string };
}

export function readCommandSummaries(root: string): CommandSummary[] | undefined {
  const dir = path.join(root, 'commands');
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.md'))
      .sort();
  } catch {
    return undefined;
  }
  const summaries: CommandSummary[] = [];
  for (const file of files) {
    const fields = frontmatterScalars(readFileSync(path.join(dir, file), 'utf8'));
    const description = fields?.get('description');
    const hint = fields?.get('argument-hint');
    if (description === undefined || hint === undefined) return undefined;
    summaries.push({ name: file.slice(0, -3), frontmatter: { description, 'argument-hint': hint } });
  }
  return summaries.length > 0 ? summaries : undefined;
}

/** Top-level `key: value` lines of the frontmatter whose value is a plain, '…' or "…" scalar on that line. */
function frontmatterScalars(text: string): Map<string, string> | undefined {
  const lines = text.split(/\r?\n/);
  if (lines[0] !== '---') return undefined;
  const end = lines.indexOf('---', 1);
  if (end < 0) return undefined;
  const fields = new Map<string, string>();
  for (const line of lines.slice(1, end)) {
    const match = /^([A-Za-z][\w-]*):[ \t]+(.*?)[ \t]*$/.exec(line);
    if (match === null) continue;
    const value = scalar(match[2]!);
    if (value !== undefined) fields.set(match[1]!, value);
  }
  return fields;
}

function scalar(raw: string): string | undefined {
  if (raw.startsWith('"')) {
    // A double-quoted YAML scalar with only JSON's escapes is a JSON string.
    if (!raw.endsWith('"') || raw.length < 2) return undefined;
    try {
      return JSON.parse(raw) as string;
    } catch {
      return undefined;
    }
  }
  if (raw.startsWith("'")) {
    const inner = raw.slice(1, -1);
    return raw.length >= 2 && raw.endsWith("'") && !inner.replace(/''/g, '').includes("'") ? inner.replace(/''/g, "'") : undefined;
  }
  // Plain scalars: anything that could start other YAML (flow collections, block scalars, anchors,
  // tags, comments) or hold a comment or a mapping indicator is left to the full parser.
  if (raw === '' || /^[[\]{}|>&*!%@`#,?:-]/.test(raw) || / #|: /.test(raw)) return undefined;
  return raw;
}
