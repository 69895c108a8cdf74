import { randomUUID } from 'node:crypto';
import type { EngineContext } from '../engine/context.js';
import { formatConnection, parseConnectionUrl, type ConnectionSpec } from '../engine/connection.js';
import { toDbopsError } from '../engine/errors.js';
import { resolveTarget } from '../engine/targets.js';
import type { RegisteredCommand } from '../loader/registry.js';
import type { CommandIO } from '../surface/binding.js';
import type { ArtifactEvent } from './event.js';
import { recordEvent } from './event-store.js';
import { boundedForRecord, boundedText } from './bounded.js';
import { redact } from './redact.js';
import { spoolFile } from './spool.js';

// The one path every invocation takes — CLI subcommand, slash line, MCP tool call: an
// `invoked` event, the engine call, then `completed` or `failed`. Reporting never changes the
// command's outcome and never records a password.

export type Trigger = 'cli' | 'slash' | 'mcp';

export interface Invocation<R> {
  runId: string;
  result: R;
}

/** What invoke() needs of a command: its name, its version, and its binding (a RegisteredCommand is one). */
export interface Invocable {
  name: string;
  doc: { frontmatter: { version: string } };
  binding: RegisteredCommand['binding'];
}

export async function invoke<R>(command: Invocable, input: unknown, trigger: Trigger, ctx: EngineContext, io: CommandIO): Promise<Invocation<R>> {
  const runId = randomUUID();
  const binding = command.binding;
  const choice = safeTargetChoice(command, input);
  const target = describeTarget(choice, ctx);
  const events = eventsDatabase(choice, ctx);
  const spool = spoolFile(ctx.root, ctx.env);
  const event = (event_type: ArtifactEvent['event_type'], success: boolean | null, details: Record<string, unknown>): ArtifactEvent => ({
    run_id: runId,
    artifact_type: 'command',
    artifact_name: command.name,
    artifact_version: command.doc.frontmatter.version,
    event_type,
    success,
    details,
    created_at: new Date().toISOString(),
  });

  await recordEvent(events, spool, event('invoked', null, { triggered_by: trigger, args: boundedForRecord(redact(input)), target: target === null ? null : boundedText(target, 200) }));
  const started = Date.now();
  try {
    const result = (await binding.run(input, ctx, io)) as R;
    const ok = binding.succeeded(result);
    const details = { ...binding.eventDetails(result), duration_ms: Date.now() - started };
    await recordEvent(events, spool, ok ? event('completed', true, details) : event('failed', false, { ...details, error: `${command.name} finished but did not succeed`, code: 'VERIFY_FAILED' }));
    return { runId, result };
  } catch (error) {
    const e = toDbopsError(error);
    await recordEvent(events, spool, event('failed', false, { error: boundedText(e.message, 2000), code: e.code, duration_ms: Date.now() - started }));
    throw error;
  }
}

function safeTargetChoice(command: Invocable, input: unknown) {
  try {
    return command.binding.targetChoice(input as never);
  } catch {
    return undefined;
  }
}

/** DBOPS_EVENTS_URL, else DATABASE_URL, else the command's own target; undefined when none can be read. */
function eventsDatabase(choice: ReturnType<typeof safeTargetChoice>, ctx: EngineContext): ConnectionSpec | undefined {
  for (const variable of ['DBOPS_EVENTS_URL', 'DATABASE_URL']) {
    const url = ctx.env[variable];
    if (url !== undefined && url !== '') {
      try {
        return parseConnectionUrl(url, variable, ctx.env);
      } catch {
        return undefined;
      }
    }
  }
  if (choice === undefined) return undefined;
  try {
    return resolveTarget(ctx.config, choice, ctx.env, choice.fallback).spec;
  } catch {
    return undefined;
  }
}

function describeTarget(choice: ReturnType<typeof safeTargetChoice>, ctx: EngineContext): string | null {
  if (choice === undefined) return null;
  if (choice.url !== undefined) {
    try {
      return `url (${formatConnection(parseConnectionUrl(choice.url, '--url'))})`;
    } catch {
      return 'url (unreadable)';
    }
  }
  return choice.target ?? choice.fallback ?? ctx.config.default_target;
}
