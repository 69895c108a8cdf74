import type { Config } from './config.js';
import { parseConnectionUrl, type ConnectionSpec } from './connection.js';
import { cutShort, DbopsError } from './errors.js';

export interface ResolvedTarget {
  /** The configured name, or `url` when --url was given. */
  name: string;
  spec: ConnectionSpec;
  protected: boolean;
}

export interface TargetChoice {
  target?: string | undefined;
  url?: string | undefined;
}

/** Picks the database a command works on: --url, else --target, else the command's default. */
export function resolveTarget(config: Config, choice: TargetChoice, env: NodeJS.ProcessEnv, fallback = config.default_target): ResolvedTarget {
  if (choice.url !== undefined && choice.target !== undefined) {
    throw new DbopsError('USAGE', 'Pass either --target or --url, not both.');
  }
  if (choice.url !== undefined) {
    return { name: 'url', spec: parseConnectionUrl(choice.url, '--url', env), protected: false };
  }
  const name = choice.target ?? fallback;
  const target = config.targets[name];
  if (target === undefined) {
    throw new DbopsError('TARGET_UNKNOWN', `Unknown target "${cutShort(name, 63)}"; configured targets: ${Object.keys(config.targets).join(', ')}.`);
  }
  const variable = target.env.find((key) => env[key] !== undefined && env[key] !== '');
  if (variable === undefined) {
    throw new DbopsError('TARGET_URL_MISSING', `Target "${name}" has no URL: set ${target.env.join(' or ')}.`);
  }
  return { name, spec: parseConnectionUrl(env[variable] as string, variable, env), protected: target.protected };
}
