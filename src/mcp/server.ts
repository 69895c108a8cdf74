import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { EngineContext } from '../engine/context.js';
import { toDbopsError } from '../engine/errors.js';
import type { Registry } from '../loader/registry.js';
import { invoke, type Invocable } from '../reporting/invoke.js';
import type { CommandBinding, CommandIO } from '../surface/binding.js';
import { agentInput } from './limits.js';
import { READ_ONLY, TOOLS, type ToolSpec } from './tools.js';
import { untrustedBlock } from './untrusted.js';

// The MCP server: tools and prompts from the registry, every call through one choke point
// (agent policy, invoke() with trigger "mcp", errors as isError with the CLI's one-line
// message and hint, never a crash). The transport is the caller's business (stdio or memory).

export interface McpServerOptions {
  registry: Registry;
  /** A fresh engine context per call, bound to that call's cancellation signal. */
  context: (signal: AbortSignal) => EngineContext;
  readOnly: boolean;
  version: string;
}

type Extra = { signal: AbortSignal; _meta?: { progressToken?: string | number } | undefined; sendNotification: (n: any) => Promise<void> };

export function createDbopsMcpServer(options: McpServerOptions): McpServer {
  // Arguments past a few thousand values are refused before any schema runs.
  const server = new McpServer({ name: 'dbops', version: options.version }, { capabilities: { logging: {} }, maxToolInputElements: 2000 });
  const readOnly = options.readOnly;
  for (const spec of TOOLS.filter((t) => !readOnly || t.annotations.readOnlyHint === true)) {
    const command = options.registry.find(spec.command);
    if (command === undefined) throw new Error(`MCP tool ${spec.name} names unknown command ${spec.command}`);
    // The agent policy runs inside the invocation, so a refused call is recorded as failed too.
    const guarded: Invocable = {
      name: command.name,
      doc: command.doc,
      binding: { ...command.binding, run: async (args, ctx, io) => command.binding.run(await spec.prepare(args, ctx), ctx, io) },
    };
    registerSpec(server, spec, guarded, options);
  }
  registerListCommands(server, options);
  for (const c of options.registry.commands) {
    if (readOnly && TOOLS.some((t) => t.command === c.name && t.annotations.readOnlyHint !== true)) continue;
    server.registerPrompt(
      c.name,
      { description: c.doc.frontmatter.description, argsSchema: { arguments: z.string().max(2000).optional().describe(`Arguments: ${c.doc.frontmatter['argument-hint']}`) } },
      ({ arguments: args }) => ({ messages: [{ role: 'user', content: { type: 'text', text: c.doc.body.replaceAll('$ARGUMENTS', args ?? '') } }] }),
    );
  }
  return server;
}

function registerSpec(server: McpServer, spec: ToolSpec, command: Invocable, options: McpServerOptions): void {
  server.registerTool(
    spec.name,
    { title: spec.title, description: spec.description, inputSchema: spec.input, outputSchema: spec.output, annotations: spec.annotations },
    (args: unknown, extra: Extra) => callTool(spec, command, args, extra, options),
  );
}

function progressIO(extra: Extra): CommandIO {
  const token = extra._meta?.progressToken;
  let progress = 0;
  return {
    progress: (message) => {
      if (token === undefined) return;
      // A client that went away must not fail the work: notifications are best effort.
      void extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: ++progress, message } }).catch(() => undefined);
    },
  };
}

async function callTool(spec: ToolSpec, command: Invocable, args: unknown, extra: Extra, options: McpServerOptions): Promise<CallToolResult> {
  try {
    const ctx = options.context(extra.signal);
    const { result } = await invoke<unknown>(command, args, 'mcp', ctx, progressIO(extra));
    const ok = command.binding.succeeded(result);
    const structured = spec.structured(result);
    // The summary is dbops's own words and numbers; everything read from outside goes in the block.
    return {
      content: [{ type: 'text', text: spec.summary(result) }, { type: 'text', text: untrustedBlock('The result', structured) }],
      structuredContent: structured,
      ...(ok ? {} : { isError: true }),
    };
  } catch (error) {
    const e = toDbopsError(error);
    // Messages quote folder names, table names and server errors: the code and hint are ours, the message is data.
    return {
      isError: true,
      content: [
        { type: 'text', text: `error [${e.code}]: see the message below. Hint: ${e.hint}` },
        // The tool's own output (stderr of pg_restore, every problem found) follows the one line, cut short.
        { type: 'text', text: untrustedBlock('The error message', [e.message, ...e.details.slice(0, 40)].join('\n')) },
      ],
    };
  }
}

function registerListCommands(server: McpServer, options: McpServerOptions): void {
  const output = z.object({
    commands: z.array(z.object({ name: z.string(), description: z.string(), argumentHint: z.string(), version: z.string() })),
    skills: z.array(z.object({ name: z.string(), description: z.string() })),
  });
  type Listing = z.infer<typeof output>;
  const binding: CommandBinding<Record<string, never>, Listing> = {
    name: 'list-commands',
    inputSchema: z.strictObject({}),
    options: () => ({}),
    maxPositionals: 0,
    fromArgv: () => ({}),
    targetChoice: () => undefined,
    run: async () => ({
      commands: options.registry.commands.map((c) => ({ name: c.name, description: c.doc.frontmatter.description, argumentHint: c.doc.frontmatter['argument-hint'], version: c.doc.frontmatter.version })),
      skills: options.registry.skills.map((s) => ({ name: s.name, description: s.frontmatter.description })),
    }),
    succeeded: () => true,
    toJson: (r) => r,
    toText: (r) => `${r.commands.length} commands, ${r.skills.length} skills.`,
    eventDetails: (r) => ({ counts: { commands: r.commands.length, skills: r.skills.length } }),
  };
  const spec: ToolSpec = {
    name: 'list_commands', command: 'list-commands', title: 'List commands and skills',
    description: 'The slash commands and skills this server was built from, with their descriptions and argument hints.',
    input: agentInput({}), output, annotations: READ_ONLY,
    prepare: async (a) => a, structured: (r: Listing) => r, summary: (r: Listing) => binding.toText(r, ''),
  };
  const command: Invocable = { name: 'list-commands', doc: { frontmatter: { version: options.version } }, binding };
  registerSpec(server, spec, command, options);
}
