import { readFileSync } from 'node:fs';
import { cutShort, DbopsError } from '../engine/errors.js';
import { linkedProjectUrl, localProjectUrl } from '../engine/supabase-cli-project.js';

// `--url postgres://user:password@…` puts the password where `ps` and /proc show it to every
// user of the machine. --url-env and --url-file take the same URL from an environment variable
// or a file instead; the face reads it, and the command sees an ordinary --url.

/** Sets the input's url from --url-env / --url-file / --linked / --local (root: the project, where supabase/ is). */
export function resolveUrlSource(
  command: string,
  input: Record<string, unknown>,
  source: { env?: string | undefined; file?: string | undefined; linked?: boolean | undefined; local?: boolean | undefined },
  env: NodeJS.ProcessEnv,
  root: string = process.cwd(),
): void {
  const given = [
    input.url !== undefined ? '--url' : '',
    input.target !== undefined && (source.linked || source.local) ? '--target' : '',
    source.env !== undefined ? '--url-env' : '',
    source.file !== undefined ? '--url-file' : '',
    source.linked ? '--linked' : '',
    source.local ? '--local' : '',
  ].filter(Boolean);
  if (given.length > 1)
    throw new DbopsError('USAGE', `${command}: pass one of --url, --url-env, --url-file, --linked and --local, not ${given.join(' and ')}.`);
  if (source.linked) input.url = linkedProjectUrl(root, env);
  else if (source.local) input.url = localProjectUrl(root);
  else if (source.env !== undefined) {
    const url = env[source.env];
    if (url === undefined || url === '')
      throw new DbopsError('TARGET_URL_MISSING', `${command}: --url-env ${cutShort(source.env, 63)}: that environment variable is not set.`);
    input.url = url;
  } else if (source.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(source.file, 'utf8');
    } catch (error) {
      throw new DbopsError('USAGE', `${command}: --url-file ${cutShort(source.file)} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
    }
    // The first non-empty line: a trailing newline from `echo … > file` is not part of the URL.
    const url = text
      .split(/\r?\n/)
      .find((line) => line.trim() !== '')
      ?.trim();
    if (url === undefined) throw new DbopsError('USAGE', `${command}: --url-file ${cutShort(source.file)} is empty.`);
    input.url = url;
  }
}
