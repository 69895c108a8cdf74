import type { z } from 'zod';
import type { Config } from '../engine/config.js';
import type { EngineContext } from '../engine/context.js';
import type { OptionSpec, ParsedArgs } from './args.js';

// One command of the surface: its argv grammar (CLI and slash lines), its input schema (the
// same one the MCP server uses), the engine call, and how its result is shown and recorded.

export interface CommandIO {
  /** A line of progress for a person or a client; may be ignored. */
  progress(message: string): void;
  /** Asks a person to confirm; absent when nobody can be asked. */
  ask?: ((question: string) => Promise<boolean>) | undefined;
  /** Text shown before the work (e.g. what a restore will overwrite). */
  notice?: ((text: string) => void) | undefined;
}

export interface CommandBinding<Input = any, Result = any> {
  name: string;
  inputSchema: z.ZodType<Input>;
  /** Flags for parseArgs; may depend on config (category flags). */
  options(config: Config): OptionSpec;
  maxPositionals: number;
  fromArgv(args: ParsedArgs, config: Config): unknown;
  /** Which database the command works on, for event details and the events fallback. */
  targetChoice(input: Input): { target?: string | undefined; url?: string | undefined; fallback?: string | undefined } | undefined;
  run(input: Input, ctx: EngineContext, io: CommandIO): Promise<Result>;
  succeeded(result: Result): boolean;
  toJson(result: Result): Record<string, unknown>;
  toText(result: Result, cwd: string): string;
  /** What the `completed`/`failed` event records about the result. */
  eventDetails(result: Result): Record<string, unknown>;
}
