import { loadConfig, loadDotEnv } from '../engine/config.js';
import type { EngineContext } from '../engine/context.js';

/** The engine's context for a CLI run: the current directory is the project root. */
export function cliContext(signal: AbortSignal): EngineContext {
  const root = process.env.DBOPS_ROOT ?? process.cwd();
  loadDotEnv(root);
  const { config } = loadConfig(root);
  return { root, config, env: process.env, signal };
}
