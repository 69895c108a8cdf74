import type { CommandDoc } from '../loader/load-artifacts.js';

/** A command's --help, from its Markdown frontmatter. */
export function commandHelp(doc: CommandDoc): string {
  return `${doc.frontmatter.description}\n\nUsage: dbops ${doc.name} ${doc.frontmatter['argument-hint']} [--json]`;
}
