import { DbopsError } from '../engine/errors.js';
import type { Registry } from '../loader/registry.js';

export async function runMcpStdio(_argv: string[], _registry: Registry, _signal: AbortSignal): Promise<number> {
  throw new DbopsError('USAGE', 'The MCP server is not available in this build.');
}
