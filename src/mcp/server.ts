import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';
import type { AnyCommand, CommandIO } from '../commands/command.js';
import { invoke } from '../dispatch/invoke.js';
import type { EngineContext } from '../engine/context.js';
import { toDbopsError } from '../engine/errors.js';
import type { Registry } from '../loader/registry.js';
import { registerBackupResources } from './backup-resources.js';
import { agentInput } from './limits.js';
import { untrustedBlock } from './untrusted.js';

// The MCP server: a tool for every command that has an MCP shape, a prompt for every command
// file, every call through one choke point (the command's agent policy, invoke() with trigger
// "mcp", errors as isError with the CLI's one-line code and hint, never a crash). The
// transport is the caller's business (stdio or memory).

export interface McpServerOptions {
  registry: Registry;
  /** A fresh engine context per call, bound to that call's cancellation signal. */
  context: (signal: AbortSignal) => EngineContext;
  readOnly: boolean;
  version: string;
}

type Extra = { signal: AbortSignal; _meta?: { progressToken?: string | number } | undefined; sendNotification: (n: any) => Promise<void> };

/** While a long call runs, a progress notification this often keeps clients that reset their timeout on progress waiting. */
const HEARTBEAT_MS = 10_000;

export function createDbopsMcpServer(options: McpServerOptions): McpServer {
  // Arguments past a few thousand values are refused before any schema runs.
  const server = new McpServer({ name: 'dbops', version: options.version }, { capabilities: { logging: {}, resources: {} }, maxToolInputElements: 2000 });
  registerBackupResources(server, () => options.context(new AbortController().signal));
  const tools = options.registry.commands.filter((c) => c.command.mcp !== undefined && (!options.readOnly || c.command.mcp.annotations.readOnlyHint === true));
  for (const { command, doc } of tools) registerTool(server, command, doc.frontmatter.version, options);
  registerTool(server, listCommands(options.registry), options.version, options);
  for (const c of options.registry.commands) {
    if (options.readOnly && !tools.some((t) => t.name === c.name)) continue;
    server.registerPrompt(
      c.name,
      {
        description: c.doc.frontmatter.description,
        argsSchema: { arguments: z.string().max(2000).optional().describe(`Arguments: ${c.doc.frontmatter['argument-hint']}`) },
      },
      ({ arguments: args }) => ({ messages: [{ role: 'user', content: { type: 'text', text: c.doc.body.replaceAll('$ARGUMENTS', args ?? '') } }] }),
    );
  }
  return server;
}

function registerTool(server: McpServer, command: AnyCommand, version: string, options: McpServerOptions): void {
  const mcp = command.mcp!;
  // The agent policy runs inside the invocation, so a refused call is recorded as failed too.
  const guarded: AnyCommand = {
    ...command,
    input: mcp.input,
    run: async (args, ctx, io) => command.run(await command.input.parseAsync(await mcp.prepare(args, ctx)), ctx, io),
  };
  server.registerTool(
    mcp.tool,
    {
      title: mcp.title,
      description: mcp.description,
      inputSchema: mcp.input,
      outputSchema: (mcp.output ?? command.output) as z.ZodObject,
      annotations: mcp.annotations,
    },
    (args: unknown, extra: Extra) => callTool(guarded, version, args, extra, options),
  );
}

function progressIO(extra: Extra): CommandIO & { heartbeat(): void } {
  const token = extra._meta?.progressToken;
  let progress = 0;
  let last = { progress: 0, total: undefined as number | undefined, message: 'started' };
  const send = () => {
    if (token === undefined) return;
    // A client that went away must not fail the work: notifications are best effort.
    void extra
      .sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, ...last, ...(last.total === undefined ? {} : { total: last.total }) },
      })
      .catch(() => undefined);
  };
  return {
    progress: (message, step) => {
      // Byte counts alone would repeat the same progress value, which MCP asks to increase.
      if (step?.update === true) return;
      // With a step the client can show a fraction (progress of total); without, progress only grows.
      progress = step === undefined ? progress + 1 : Math.max(progress, step.done);
      last = { progress, total: step?.total ?? last.total, message };
      send();
    },
    heartbeat: () => {
      last = { ...last, message: `${last.message} (still running)` };
      send();
    },
  };
}

async function callTool(command: AnyCommand, version: string, args: unknown, extra: Extra, options: McpServerOptions): Promise<CallToolResult> {
  const io = progressIO(extra);
  const heartbeat = setInterval(() => io.heartbeat(), HEARTBEAT_MS);
  try {
    const ctx = options.context(extra.signal);
    const readOnly = options.readOnly || command.mcp?.annotations.readOnlyHint === true;
    const { output } = await invoke(command, args, 'mcp', ctx, io, { version, readOnly });
    const ok = command.succeeded(output);
    const structured = output as Record<string, unknown>;
    // The summary is dbops's own words and numbers; everything read from outside goes in the
    // block, which carries the whole result as JSON for clients that read only text.
    return {
      content: [
        { type: 'text', text: command.summary(output) },
        { type: 'text', text: untrustedBlock('The result', structured) },
      ],
      structuredContent: structured,
      ...(ok ? {} : { isError: true }),
    };
  } catch (error) {
    const e = toDbopsError(error);
    // Messages quote folder names, table names and server errors: the code and hint are ours, the message is data.
    // The code travels machine-readable in _meta, not structuredContent: clients validate any
    // structuredContent against the tool's outputSchema, error or not (SDK 1.32 client), and an
    // error is not a result of that shape.
    return {
      isError: true,
      _meta: { 'dbops/error': { code: e.code, hint: e.hint } },
      content: [
        { type: 'text', text: `error [${e.code}]: see the message below. Hint: ${e.hint}` },
        // The tool's own output (stderr of pg_restore, every problem found) follows the one line, cut short.
        { type: 'text', text: untrustedBlock('The error message', [e.message, ...e.details.slice(0, 40)].join('\n')) },
      ],
    };
  } finally {
    clearInterval(heartbeat);
  }
}

/** list_commands: what this server was built from. Not a CLI command, so it is made here. */
function listCommands(registry: Registry): AnyCommand {
  const output = z.object({
    commands: z.array(z.object({ name: z.string(), description: z.string(), argumentHint: z.string(), version: z.string() })),
    skills: z.array(z.object({ name: z.string(), description: z.string() })),
  });
  type Listing = z.output<typeof output>;
  const input = agentInput({});
  return {
    name: 'list-commands',
    input,
    output,
    readOnly: true,
    cli: { examples: [] },
    target: () => undefined,
    run: async () => ({
      commands: registry.commands.map((c) => ({
        name: c.name,
        description: c.doc.frontmatter.description,
        argumentHint: c.doc.frontmatter['argument-hint'],
        version: c.doc.frontmatter.version,
      })),
      skills: registry.skills.map((s) => ({ name: s.name, description: s.frontmatter.description })),
    }),
    succeeded: () => true,
    summary: (r: Listing) => `${r.commands.length} commands, ${r.skills.length} skills.`,
    text: (r: Listing) => `${r.commands.length} commands, ${r.skills.length} skills.`,
    mcp: {
      tool: 'list_commands',
      title: 'List commands and skills',
      description: 'The slash commands and skills this server was built from, with their descriptions and argument hints.',
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      input,
      prepare: async (a) => a,
    },
  } as AnyCommand;
}
