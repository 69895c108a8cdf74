import matter from 'gray-matter';
import { parse as parseYaml } from 'yaml';

// A Markdown file → its frontmatter as parsed YAML (not yet validated) and its body. Loaded
// only when the frontmatter cache has no entry for a file's exact text (frontmatter-cache.ts):
// gray-matter brings js-yaml with it, which was a fifth of a command's start-up.

export interface ParsedFrontmatter {
  data: Record<string, unknown>;
  content: string;
}

/** Throws when the frontmatter is not valid YAML. */
export function parseFrontmatter(text: string): ParsedFrontmatter {
  // One YAML parser for everything dbops reads (the `yaml` package, YAML 1.2, as for
  // dbops.config.yaml), not gray-matter's bundled js-yaml. A fresh options object also keeps
  // gray-matter from caching by content across files.
  const parsed = matter(text, { engines: { yaml: (source: string) => (parseYaml(source) ?? {}) as object } });
  return { data: parsed.data, content: parsed.content };
}
