import { loadConfig, loadDotEnv } from '../engine/config.js';
import type { EngineContext } from '../engine/context.js';

/** The engine's context for a run of this process (CLI or MCP server): the current directory (or DBOPS_ROOT) is the project root, its .env and dbops.config.yaml apply. */
export function processContext(signal: AbortSignal): EngineContext {
  const root = process.env.DBOPS_ROOT ?? process.cwd();
  loadDotEnv(root);
  const { config } = loadConfig(root);
  return { root, config, env: process.env, signal };
}
