import path from 'node:path';
import type { Readable } from 'node:stream';
import { execa, ExecaError } from 'execa';
import { libpqEnv, type ConnectionSpec } from '../connection.js';
import { DbopsError } from '../errors.js';

// Each PostgreSQL client tool is run here and only here: located once, given argv arrays
// (never a shell string), credentials through the environment, and its failures mapped
// to the engine's error codes.

export type PgTool = 'pg_dump' | 'pg_restore' | 'psql' | 'pg_dumpall';

export interface ToolRun {
  /** Connection whose credentials reach the tool through PG* environment variables. */
  connection?: ConnectionSpec | undefined;
  /** Aborting kills the tool (SIGTERM) and the run fails with INTERRUPTED. */
  signal?: AbortSignal | undefined;
  /** Called with each stderr line as it arrives (progress from --verbose). */
  onStderrLine?: ((line: string) => void) | undefined;
  /** Fed to stdin: text, or a stream (e.g. a gunzipped file). */
  input?: string | Readable | undefined;
  /** Write stdout to this file instead of buffering it. */
  stdoutFile?: string | undefined;
}

export interface ToolResult {
  stdout: string;
  stderr: string;
}

/** Where the tool lives: $PG_BIN_DIR/<tool> if set, else the bare name found on PATH. */
export function toolPath(tool: PgTool, env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.PG_BIN_DIR;
  return dir === undefined || dir === '' ? tool : path.join(dir, tool);
}

export async function runTool(tool: PgTool, args: readonly string[], run: ToolRun = {}): Promise<ToolResult> {
  const file = toolPath(tool);
  // PG* variables of the caller must not leak into a run meant for another server.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PG') || key === 'PG_BIN_DIR'));
  const env = { ...inherited, ...(run.connection ? libpqEnv(run.connection) : {}), PGCLIENTENCODING: 'UTF8', LC_MESSAGES: 'C' };
  const onLine = run.onStderrLine;
  // A tool must never wait for a password nobody can type: libpq prompts on the terminal (or
  // stdin), which left pg_dump waiting forever with its snapshot open. --no-password makes a
  // missing password an error at once, and stdin is ours only when we feed it.
  const argv = args[0] === '--version' ? [...args] : ['--no-password', ...args];
  try {
    const result = await execa(file, argv, {
      env,
      extendEnv: false,
      cancelSignal: run.signal,
      ...(run.input === undefined ? { stdin: 'ignore' as const } : { input: run.input }),
      stdout: run.stdoutFile === undefined ? 'pipe' : { file: run.stdoutFile },
      stderr: onLine === undefined ? 'pipe' : [function* (line: unknown) { onLine(String(line)); yield line; }],
      stripFinalNewline: true,
      maxBuffer: 512 * 1024 * 1024,
    });
    return { stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
  } catch (error) {
    throw mapToolError(tool, error);
  }
}

function mapToolError(tool: PgTool, error: unknown): DbopsError {
  if (!(error instanceof ExecaError)) return new DbopsError('INTERNAL', `${tool}: ${String(error)}`, { cause: error });
  const stderr = String(error.stderr ?? '');
  if (error.code === 'ENOENT') {
    return new DbopsError('TOOL_MISSING', `${tool} was not found (looked for ${toolPath(tool)}).`, { cause: error });
  }
  if (error.isCanceled) {
    return new DbopsError('INTERRUPTED', `${tool} was stopped because the run was interrupted.`, { cause: error });
  }
  if (error.signal !== undefined) {
    return new DbopsError('TOOL_KILLED', `${tool} was killed by ${error.signal}.`, { cause: error });
  }
  const classified = classifyLibpqFailure(stderr);
  if (classified) return new DbopsError(classified.code, `${tool}: ${classified.line}`, { cause: error });
  const last = lastMeaningfulLine(stderr) ?? `exited with code ${error.exitCode ?? 'unknown'}`;
  return new DbopsError('TOOL_FAILED', `${tool} failed: ${last}`, { cause: error, details: stderr.split('\n').slice(-20) });
}

/** Recognises connection-level failures in libpq/tool stderr, shared with the pg client's errors. */
export function classifyLibpqFailure(text: string): { code: 'AUTH_FAILED' | 'DATABASE_MISSING' | 'CONNECT_FAILED' | 'TOOL_TOO_OLD'; line: string } | undefined {
  const line = text.split('\n').find((l) => /FATAL|error:|could not|timeout|mismatch/i.test(l))?.trim() ?? text.trim();
  if (/server version mismatch|aborting because of server version/i.test(text)) return { code: 'TOOL_TOO_OLD', line };
  if (/password authentication failed|no password supplied|authentication failed/i.test(text)) return { code: 'AUTH_FAILED', line };
  if (/database ".*" does not exist/i.test(text)) return { code: 'DATABASE_MISSING', line };
  if (/could not connect|connection to server .* failed|could not translate host name|timeout expired|Connection refused/i.test(text)) {
    return { code: 'CONNECT_FAILED', line };
  }
  return undefined;
}

function lastMeaningfulLine(text: string): string | undefined {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^(pg_dump|pg_restore|psql): (detail|hint):/i.test(l))
    .reverse()
    .find((l) => /error|fatal|could not/i.test(l)) ?? text.split('\n').map((l) => l.trim()).filter(Boolean).at(-1);
}

/**
 * A libpq conninfo naming just the database, for tools whose --dbname must be given (the
 * rest comes from the environment). Quoting keeps a name with "=" or spaces a plain name.
 */
export function dbnameArg(database: string): string {
  return `--dbname=dbname='${database.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)" → { major: 15, text: "15.20" } */
export async function toolVersion(tool: PgTool): Promise<{ major: number; text: string }> {
  const { stdout } = await runTool(tool, ['--version']);
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(stdout);
  if (!match) throw new DbopsError('TOOL_FAILED', `Cannot read the version of ${tool} from "${stdout}".`);
  return { major: Number(match[1]), text: `${match[1]}.${match[2] ?? '0'}` };
}

/** Refuses tools older than the server: pg_dump cannot dump a newer major. */
export async function assertToolsFit(serverVersionNum: number, tools: readonly PgTool[]): Promise<Record<string, string>> {
  const serverMajor = Math.floor(serverVersionNum / 10000);
  const versions: Record<string, string> = {};
  for (const tool of tools) {
    const version = await toolVersion(tool);
    if (version.major < serverMajor) {
      throw new DbopsError('TOOL_TOO_OLD', `${tool} ${version.text} is older than the server (PostgreSQL ${serverMajor}).`);
    }
    versions[tool] = version.text;
  }
  return versions;
}
