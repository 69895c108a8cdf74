import type { Readable } from 'node:stream';
import { execa, ExecaError } from 'execa';
import { lockWaitTimeoutArg } from '../connection-locks.js';
import { libpqEnv, type ConnectionSpec } from '../connection.js';
import { criticalWork } from '../critical-work.js';
import { DbopsError } from '../errors.js';
import { withClient } from '../pg/client.js';
import { formatSessions, holdersOf } from '../pg/lock-sessions.js';
import { toolPath } from './tool-path.js';

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

export async function runTool(tool: PgTool, args: readonly string[], run: ToolRun = {}): Promise<ToolResult> {
  const file = toolPath(tool);
  // PG* variables of the caller must not leak into a run meant for another server.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PG') || key === 'PG_BIN_DIR'));
  const env = { ...inherited, ...(run.connection ? libpqEnv(run.connection) : {}), PGCLIENTENCODING: 'UTF8', LC_MESSAGES: 'C' };
  const onLine = run.onStderrLine;
  // A tool must never wait for a password nobody can type: libpq prompts on the terminal (or
  // stdin), which left pg_dump waiting forever with its snapshot open. --no-password makes a
  // missing password an error at once, and stdin is ours only when we feed it.
  const argv = args[0] === '--version' ? [...args] : ['--no-password', ...lockArgs(tool, args, run.connection), ...args];
  try {
    const result = await execa(file, argv, {
      env,
      extendEnv: false,
      cancelSignal: run.signal,
      // A tool that puts a target back (no cancel signal, critical work under way) runs in a
      // process group of its own: a Ctrl-C at the terminal reaches the whole foreground group,
      // and must not stop it half-way. dbops itself keeps going (critical-work.ts).
      detached: run.signal === undefined && criticalWork() !== undefined,
      ...(run.input === undefined ? { stdin: 'ignore' as const } : { input: run.input }),
      stdout: run.stdoutFile === undefined ? 'pipe' : { file: run.stdoutFile },
      stderr:
        onLine === undefined
          ? 'pipe'
          : [
              function* (line: unknown) {
                onLine(String(line));
                yield line;
              },
            ],
      stripFinalNewline: true,
      maxBuffer: 512 * 1024 * 1024,
    });
    return { stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
  } catch (error) {
    const mapped = mapToolError(tool, error, run.stdoutFile);
    throw mapped.code === 'LOCK_TIMEOUT' && run.connection !== undefined ? await namingHolders(mapped, run.connection) : mapped;
  }
}

/** pg_dump's own limit on the lock it takes on every table (connection-locks.ts says why not PGOPTIONS). */
function lockArgs(tool: PgTool, args: readonly string[], connection: ConnectionSpec | undefined): string[] {
  if (tool !== 'pg_dump' || connection === undefined || args.some((a) => a.startsWith('--lock-wait-timeout'))) return [];
  return [lockWaitTimeoutArg(connection.lockTimeoutMs)];
}

/**
 * A wait for a lock that ran out of time, and the relations it waited for when the tool says:
 * pg_dump's --lock-wait-timeout ends its LOCK TABLE by statement timeout ("Query was: LOCK TABLE
 * public.t, public.u IN ACCESS SHARE MODE"); a session's own lock_timeout says so in its words.
 */
export function lockFailure(stderr: string): { line: string; relations: string[] } | undefined {
  const lock = /^(?:pg_dump|pg_restore|psql)?:?\s*(?:detail: )?Query was: LOCK TABLE (.+?) IN [A-Z ]+ MODE/im.exec(stderr);
  if (lock && /canceling statement due to statement timeout/i.test(stderr)) {
    return { line: `waited too long for a lock on ${lock[1]!.slice(0, 200)}`, relations: lock[1]!.split(/,\s*/) };
  }
  const named = /could not obtain lock on relation "([^"]+)"/i.exec(stderr);
  if (named) return { line: `could not obtain lock on relation "${named[1]}"`, relations: [named[1]!] };
  return /canceling statement due to lock timeout/i.test(stderr)
    ? { line: 'waited too long for a lock (canceling statement due to lock timeout)', relations: [] }
    : undefined;
}

/** A lock wait that timed out, with the sessions that hold what it waited for (when they are still there). */
async function namingHolders(error: DbopsError, connection: ConnectionSpec): Promise<DbopsError> {
  const relations = lockFailure(error.details.join('\n'))?.relations ?? [];
  if (relations.length === 0) return error;
  try {
    const holders = await withClient(connection, async (client) => {
      const found = new Map<number, Awaited<ReturnType<typeof holdersOf>>[number]>();
      for (const relation of relations.slice(0, 50)) for (const h of await holdersOf(client, relation).catch(() => [])) found.set(h.pid, h);
      return [...found.values()];
    });
    if (holders.length === 0) return error;
    return new DbopsError('LOCK_TIMEOUT', `${error.message}, held by ${formatSessions(holders)}.`, { cause: error, details: [...error.details] });
  } catch {
    return error;
  }
}

function mapToolError(tool: PgTool, error: unknown, stdoutFile: string | undefined): DbopsError {
  if (!(error instanceof ExecaError)) return new DbopsError('INTERNAL', `${tool}: ${String(error)}`, { cause: error });
  const stderr = String(error.stderr ?? '');
  const details = stderrDetails(stderr);
  if (error.code === 'ENOENT') {
    return new DbopsError('TOOL_MISSING', `${tool} was not found (looked for ${toolPath(tool)}).`, { cause: error });
  }
  // Our side of the pipe (stdout into a file) can fill the disk too.
  if (error.code === 'ENOSPC' || error.code === 'EDQUOT') {
    const where = stdoutFile === undefined ? '' : ` to ${stdoutFile}`;
    return new DbopsError('DISK_FULL', `${tool}: no space left on device writing its output${where}.`, { cause: error, details });
  }
  if (error.isCanceled) {
    return new DbopsError('INTERRUPTED', `${tool} was stopped because the run was interrupted.`, { cause: error, details });
  }
  const first = firstErrorLine(stderr);
  // A full disk often kills a tool outright (or a worker of it); its own line says so first.
  const diskFull = stderr.split('\n').find((l) => /No space left on device|Disk quota exceeded/i.test(l));
  if (diskFull !== undefined) return new DbopsError('DISK_FULL', `${tool}: ${withoutPrefix(diskFull)}`, { cause: error, details });
  if (error.signal !== undefined) {
    const why = first === undefined ? '.' : ` (after: ${first})`;
    return new DbopsError('TOOL_KILLED', `${tool} was killed by ${error.signal}${why}`, { cause: error, details });
  }
  const lock = lockFailure(stderr);
  if (lock !== undefined) return new DbopsError('LOCK_TIMEOUT', `${tool} ${lock.line}`, { cause: error, details });
  const classified = classifyLibpqFailure(stderr);
  if (classified) return new DbopsError(classified.code, `${tool}: ${classified.line}`, { cause: error, details });
  const last = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .at(-1);
  const why = first ?? (last === undefined ? `exited with code ${error.exitCode ?? 'unknown'}` : withoutPrefix(last));
  return new DbopsError('TOOL_FAILED', `${tool} failed: ${why}`, { cause: error, details });
}

// Lines that follow from an earlier failure and never explain it: a parallel pg_dump/pg_restore
// whose worker failed says "a worker process died unexpectedly" after the worker's own line;
// a COPY cut short by the server says "error returned by PQputCopyData"; continuation lines of
// a server message (DETAIL, HINT, CONTEXT, LINE, "Command was") belong to the line before them.
const CONSEQUENCE =
  /worker process died unexpectedly|error returned by PQputCopyData|errors ignored on restore|terminated by user|^(pg_dump|pg_restore|pg_dumpall|psql): (detail|hint):|^(DETAIL|HINT|CONTEXT|LINE \d+|Command was|QUERY):/i;
const ERROR_LINE = /\b(error|fatal|panic):|^ERROR:|could not|No space left on device|server closed the connection|failed:/i;

/** The line that says why a tool failed: the first error line that is not a consequence of another. */
export function firstErrorLine(stderr: string): string | undefined {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const errors = lines.filter((l) => ERROR_LINE.test(l));
  const line = errors.find((l) => !CONSEQUENCE.test(l)) ?? errors[0];
  return line === undefined ? undefined : withoutPrefix(line);
}

/** "pg_restore: error: COPY failed …" → "COPY failed …": the tool is named by the message already. */
function withoutPrefix(line: string): string {
  return line
    .trim()
    .replace(/^(pg_dump|pg_restore|pg_dumpall|psql)(: (error|fatal|warning))?: /i, '')
    .replace(/\s{2,}/g, ' ');
}

/** The whole stderr for --json, cut in the middle past 2,000 lines (a --verbose run of a big database). */
function stderrDetails(stderr: string): string[] {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  if (lines.length <= 2000) return lines;
  return [...lines.slice(0, 200), `… ${lines.length - 2000} lines left out …`, ...lines.slice(-1800)];
}

/** Recognises connection-level failures in libpq/tool stderr, shared with the pg client's errors. */
export function classifyLibpqFailure(text: string): { code: 'AUTH_FAILED' | 'DATABASE_MISSING' | 'CONNECT_FAILED' | 'TOOL_TOO_OLD'; line: string } | undefined {
  const line = firstErrorLine(text) ?? text.trim().split('\n')[0] ?? '';
  if (/server version mismatch|aborting because of server version/i.test(text)) return { code: 'TOOL_TOO_OLD', line };
  // The rest only when the first real error says so: a restore whose data mentions "could not
  // connect" is not a connection failure.
  if (/password authentication failed|no password supplied|authentication failed/i.test(line)) return { code: 'AUTH_FAILED', line };
  if (/database ".*" does not exist/i.test(line)) return { code: 'DATABASE_MISSING', line };
  if (/could not connect|connection to server .* failed|could not translate host name|timeout expired|Connection refused/i.test(line)) {
    return { code: 'CONNECT_FAILED', line };
  }
  return undefined;
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
  // Side by side; a tool that fails is reported in the order asked, whichever finished first.
  const settled = await Promise.allSettled(tools.map((tool) => toolVersion(tool)));
  for (const [i, tool] of tools.entries()) {
    const result = settled[i]!;
    if (result.status === 'rejected') throw result.reason;
    const version = result.value;
    if (version.major < serverMajor) {
      throw new DbopsError('TOOL_TOO_OLD', `${tool} ${version.text} is older than the server (PostgreSQL ${serverMajor}).`);
    }
    versions[tool] = version.text;
  }
  return versions;
}
