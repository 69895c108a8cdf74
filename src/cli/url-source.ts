import { readFileSync } from 'node:fs';
import { DbopsError } from '../engine/errors.js';
import type { OptionSpec, ParsedArgs } from '../surface/args.js';

// `--url postgres://user:password@…` puts the password where `ps` and /proc show it to every
// user of the machine. --url-env and --url-file take the same URL from an environment variable
// or a file instead; the face reads it, and the command sees an ordinary --url.

export const URL_SOURCE_OPTIONS: OptionSpec = { 'url-env': { type: 'string' }, 'url-file': { type: 'string' } };

export const URL_SOURCE_HELP = [
  'Connection: --target NAME reads the URL from the environment variable the config names (e.g. DATABASE_URL_DEV).',
  '  --url URL puts its password on the process list (ps); to keep it off, use --url-env NAME (the URL from',
  '  environment variable NAME) or --url-file PATH (the URL from the first line of a file). A password may also',
  '  come from PGPASSWORD, .pgpass (PGPASSFILE) or a service (PGSERVICE, PGSERVICEFILE), as for psql.',
  'Locks: a wait for a lock another session holds stops after DBOPS_LOCK_TIMEOUT (default 30s, e.g. 5s, 2min),',
  '  naming that session.',
].join('\n');

/** Replaces --url-env / --url-file by the URL they name, in place. */
export function resolveUrlSource(command: string, values: ParsedArgs['values'], env: NodeJS.ProcessEnv): void {
  const given = ['url', 'url-env', 'url-file'].filter((key) => values[key] !== undefined);
  if (given.length > 1) throw new DbopsError('USAGE', `${command}: pass one of --url, --url-env and --url-file, not ${given.map((k) => `--${k}`).join(' and ')}.`);
  const name = values['url-env'];
  const file = values['url-file'];
  delete values['url-env'];
  delete values['url-file'];
  if (typeof name === 'string') {
    const url = env[name];
    if (url === undefined || url === '') throw new DbopsError('TARGET_URL_MISSING', `${command}: --url-env ${name}: that environment variable is not set.`);
    values.url = url;
  } else if (typeof file === 'string') {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new DbopsError('USAGE', `${command}: --url-file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
    }
    // The first non-empty line: a trailing newline from `echo … > file` is not part of the URL.
    const url = text.split(/\r?\n/).find((line) => line.trim() !== '')?.trim();
    if (url === undefined) throw new DbopsError('USAGE', `${command}: --url-file ${file} is empty.`);
    values.url = url;
  }
}
