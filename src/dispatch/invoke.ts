import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { AnyCommand, CommandIO } from '../commands/command.js';
import type { EngineContext } from '../engine/context.js';
import { formatConnection, parseConnectionUrl } from '../engine/connection.js';
import { DbopsError, toDbopsError } from '../engine/errors.js';
import { parseInput } from '../engine/input.js';
import { boundedForRecord, boundedText } from '../reporting/bounded.js';
import type { ArtifactEvent } from '../reporting/event.js';
import { eventsDatabase } from '../reporting/events-database.js';
import { recordEvent } from '../reporting/event-store.js';
import { redact } from '../reporting/redact.js';
import { spoolFile } from '../reporting/spool.js';

// The one path every invocation takes — CLI subcommand, slash line, MCP tool call: the input
// checked against the command's schema, an `invoked` event, the engine call, then `completed`
// (with the command's output as its details) or `failed`. Reporting never changes the command's
// outcome and never records a password. A read-only invocation writes to no database: its
// events wait in the spool for the next command that records.

export type Trigger = 'cli' | 'slash' | 'mcp';

export interface Invocation<O> {
  runId: string;
  output: O;
}

export interface InvokeOptions {
  /** The command's Markdown version, recorded with each event. */
  version: string;
  /** Record to the spool only (mcp --read-only, read-only commands). */
  readOnly?: boolean;
}

export async function invoke<C extends AnyCommand>(
  command: C,
  rawInput: unknown,
  trigger: Trigger,
  ctx: EngineContext,
  io: CommandIO,
  options: InvokeOptions,
): Promise<Invocation<z.output<C['output']>>> {
  const runId = randomUUID();
  const spool = spoolFile(ctx.root, ctx.env);
  const event = (event_type: ArtifactEvent['event_type'], success: boolean | null, details: Record<string, unknown>): ArtifactEvent => ({
    run_id: runId,
    artifact_type: 'command',
    artifact_name: command.name,
    artifact_version: options.version,
    event_type,
    success,
    details,
    created_at: new Date().toISOString(),
  });

  let input: z.output<C['input']> | undefined;
  let inputError: unknown;
  try {
    input = parseInput(command.name, command.input, rawInput) as z.output<C['input']>;
  } catch (error) {
    inputError = error;
  }
  const readOnly = options.readOnly === true || (input !== undefined && command.readOnlyFor?.(input) === true);
  const events = readOnly ? undefined : eventsDatabase(ctx);
  const target = input === undefined ? null : describeTarget(command, input, ctx);
  await recordEvent(
    events,
    spool,
    event('invoked', null, { triggered_by: trigger, args: boundedForRecord(redact(rawInput)), target: target === null ? null : boundedText(target) }),
  );
  const started = Date.now();
  try {
    if (input === undefined) throw inputError;
    // The one output schema shapes what every face shows and what the event records.
    const output = command.output.parse(await command.run(input, ctx, io)) as z.output<C['output']>;
    const ok = command.succeeded(output);
    const details = { ...(boundedForRecord(output) as Record<string, unknown>), summary: command.summary(output), duration_ms: Date.now() - started };
    await recordEvent(
      events,
      spool,
      ok
        ? event('completed', true, details)
        : event('failed', false, { ...details, error: `${command.name} finished but did not succeed`, code: 'VERIFY_FAILED' }),
    );
    return { runId, output };
  } catch (error) {
    const e = toDbopsError(error);
    await recordEvent(events, spool, event('failed', false, { error: boundedText(e.message), code: e.code, duration_ms: Date.now() - started }));
    throw error instanceof DbopsError ? error : e;
  }
}

function describeTarget(command: AnyCommand, input: unknown, ctx: EngineContext): string | null {
  let choice;
  try {
    choice = command.target(input as never);
  } catch {
    return null;
  }
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
