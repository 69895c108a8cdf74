import type { CommandSummary } from './help-index.js';
import { URL_SOURCE_HELP } from './url-source.js';

// Commands that connect to a database named by --url (their bindings declare a `url` option; a
// unit test keeps this list equal to them). Help is printed without loading the bindings, which
// would double the time `dbops <command> --help` takes.
export const COMMANDS_TAKING_URL: readonly string[] = ['backup-db', 'restore-db', 'verify-backup', 'history'];

/** A command's --help, from its Markdown frontmatter. */
export function commandHelp(doc: CommandSummary): string {
  const usage = `${doc.frontmatter.description}\n\nUsage: dbops ${doc.name} ${doc.frontmatter['argument-hint']} [--json]`;
  return COMMANDS_TAKING_URL.includes(doc.name) ? `${usage}\n\n${URL_SOURCE_HELP}` : usage;
}
