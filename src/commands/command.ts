import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { Config } from '../engine/config.js';
import type { EngineContext } from '../engine/context.js';

// A command, in one place: its input schema (whose .describe() texts become its flags, its
// --help and its MCP input), its one output schema (for --json, MCP structuredContent and the
// event's details), the engine call, how a person reads the result, and — when agents may run
// it — its MCP tool. The CLI, slash lines and the MCP server are generic over the table of these
// (commands/index.ts); the Markdown file of the same name gives the slash command and its
// one-line description.

export interface CommandIO {
  /**
   * A line of progress for a person or a client; `step` tells how far along (for percentages),
   * `bytes` how much is written so far, `update` that only the byte count moved (a log may skip it).
   */
  progress(message: string, step?: { done: number; total: number; bytes?: number; update?: boolean }): void;
  /** Asks a person to confirm; absent when nobody can be asked. */
  ask?: ((question: string) => Promise<boolean>) | undefined;
  /** Text shown before the work (e.g. what a restore will overwrite). */
  notice?: ((text: string) => void) | undefined;
}

/** A flag made from the config rather than the schema (backup-db's --no-<category>). */
export interface DynamicFlag {
  flag: string;
  description: string;
  /** Puts the flag into the input (e.g. adds the category to `exclude`). */
  apply(input: Record<string, unknown>): void;
}

export interface CliShape {
  /** The field a bare argument fills (restore-db's backup folder). */
  positional?: string;
  /** Fields with no flag of their own (filled by dynamic flags, or not for people). */
  hidden?: readonly string[];
  dynamicFlags?(config: Config): DynamicFlag[];
  /** Shown under --help; run by a test with the shipped config. */
  examples: readonly string[];
}

export interface McpShape<Input> {
  tool: string;
  title: string;
  description: string;
  annotations: ToolAnnotations;
  /** The agent's arguments: the command's input narrowed and size-limited (mcp/limits.ts). */
  input: z.ZodObject;
  /** Agent policy (configured targets, confined paths, confirmation), then the command's input. */
  prepare(args: any, ctx: EngineContext): Promise<Input>;
  /** The output schema agents get, when it is a narrower member of the command's own (backup-db without --plan). */
  output?: z.ZodObject;
}

export interface Command<Input extends z.ZodObject = z.ZodObject, Output extends z.ZodType = z.ZodType> {
  name: string;
  input: Input;
  output: Output;
  cli: CliShape;
  /** Changes nothing anywhere: its runs are recorded to the spool only, never into a database. */
  readOnly?: boolean;
  /** Read-only for some inputs only (restore-db --dry-run): recorded like a read-only command then. */
  readOnlyFor?(input: z.output<Input>): boolean;
  /** The database the command works on, for the event and the events fallback. */
  target(input: z.output<Input>): { target?: string | undefined; url?: string | undefined; fallback?: string | undefined } | undefined;
  run(input: z.output<Input>, ctx: EngineContext, io: CommandIO): Promise<z.output<Output>>;
  /** False makes the exit code 1 and the event `failed` (e.g. a restore that did not verify). */
  succeeded(output: z.output<Output>): boolean;
  /** dbops's own words and counts, one line: MCP's text summary. */
  summary(output: z.output<Output>): string;
  /** What a person reads. */
  text(output: z.output<Output>, cwd: string): string;
  mcp?: McpShape<z.input<Input>> | undefined;
}

/** Commands of different shapes in one list. */
export type AnyCommand = Command<z.ZodObject, z.ZodType>;

/** Command modules by command name, each loaded when first asked for (commands/index.ts). */
export type CommandModules = Readonly<Record<string, () => Promise<AnyCommand>>>;
