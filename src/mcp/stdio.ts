import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { processContext } from '../dispatch/process-context.js';
import type { Registry } from '../loader/registry.js';
import { parseArgs } from 'node:util';
import { DbopsError } from '../engine/errors.js';
import { createDbopsMcpServer } from './server.js';

// `dbops mcp`: the server on stdin/stdout, as .mcp.json starts it. Stdout belongs to the
// protocol; nothing else may be printed there. Ends when the client closes stdin.

export async function runMcpStdio(argv: string[], registry: Registry, signal: AbortSignal, packageRoot: string): Promise<number> {
  let args;
  try {
    args = parseArgs({ args: argv, options: { 'read-only': { type: 'boolean' } }, strict: true, allowPositionals: false });
  } catch {
    throw new DbopsError('USAGE', 'mcp: the only option is --read-only. Run dbops mcp --help.');
  }
  const base = processContext(signal);
  const version = (JSON.parse(await readFile(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const server = createDbopsMcpServer({
    registry,
    context: (callSignal) => ({ ...base, signal: AbortSignal.any([signal, callSignal]) }),
    readOnly: args.values['read-only'] === true || base.config.mcp.read_only,
    version,
  });
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.connect(transport);
  await closed;
  await server.close().catch(() => undefined);
  return 0;
}
