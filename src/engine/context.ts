import type { Config } from './config.js';

/** What every engine command needs from its face: where the project is, its config, env, and a way to stop. */
export interface EngineContext {
  /** Project root: where dbops.config.yaml and storage/ live. */
  root: string;
  config: Config;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal | undefined;
  now?: (() => Date) | undefined;
}
