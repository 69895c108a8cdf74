// One catalogue of every failure the engine can report. Each code is stable (tests and
// scripts match on it); the message says what happened in one line, the hint what to do.

export type ErrorKind = 'usage' | 'failure';

interface Entry {
  kind: ErrorKind;
  hint: string;
}

export const ERROR_CATALOGUE = {
  CONFIG_INVALID: { kind: 'usage', hint: 'Fix the keys named above in dbops.config.yaml (delete the file to use the defaults).' },
  CONFIG_UNREADABLE: { kind: 'usage', hint: 'Check that dbops.config.yaml is readable YAML.' },
  TARGET_UNKNOWN: { kind: 'usage', hint: 'Use one of the targets in dbops.config.yaml, or pass --url.' },
  TARGET_URL_MISSING: { kind: 'usage', hint: 'Set the environment variable (or put it in .env), or pass --url.' },
  URL_INVALID: { kind: 'usage', hint: 'Use a URL like postgres://user:password@host:5432/database?sslmode=require.' },
  URL_POOLER_TRANSACTION: {
    kind: 'usage',
    hint: 'Use the session pooler or the direct connection on port 5432: transaction pooling (port 6543) breaks pg_dump.',
  },
  SUPABASE_NOT_LINKED: { kind: 'usage', hint: 'Run `supabase link` (for --linked) or `supabase init` (for --local) in the project, or pass --url/--target.' },
  USAGE: { kind: 'usage', hint: 'Run dbops --help for the commands and their options.' },
  OPTION_INVALID: { kind: 'usage', hint: 'Run dbops <command> --help for the valid options.' },
  TOOL_MISSING: {
    kind: 'failure',
    hint: 'Install the PostgreSQL client tools (Debian/Ubuntu: apt-get install postgresql-client; macOS: brew install libpq), or set PG_BIN_DIR.',
  },
  TOOL_TOO_OLD: {
    kind: 'failure',
    hint: "Install client tools whose major version is at least the server's (e.g. apt-get install postgresql-client-17 from apt.postgresql.org), or set PG_BIN_DIR to them.",
  },
  TOOL_FAILED: { kind: 'failure', hint: 'Read the tool output above; rerun with the same options once the cause is fixed.' },
  TOOL_KILLED: { kind: 'failure', hint: 'The tool was stopped by a signal (killed, out of memory or interrupted); nothing was kept. Rerun the command.' },
  DISK_FULL: {
    kind: 'failure',
    hint: "Free space on that disk and rerun (df -h shows it): the backups folder for a backup, the database server's disk for a restore.",
  },
  CONNECT_FAILED: { kind: 'failure', hint: 'Check host, port, network access and sslmode; the server must answer within 10 s.' },
  AUTH_FAILED: {
    kind: 'failure',
    hint: 'Check the user name and the password (in the URL, PGPASSWORD, .pgpass/PGPASSFILE or the PGSERVICE entry); the password is never printed.',
  },
  DATABASE_MISSING: { kind: 'failure', hint: 'Check the database name in the target URL.' },
  QUERY_FAILED: { kind: 'failure', hint: 'Check that the user may read the catalog and the selected tables.' },
  BACKUP_DIR_UNWRITABLE: { kind: 'failure', hint: 'Check that the backups directory exists and is writable, or pass --out DIR.' },
  BACKUP_EXISTS: { kind: 'failure', hint: 'Wait a second and rerun, or pass a different --label.' },
  INTERRUPTED: { kind: 'failure', hint: 'The run was interrupted by a signal; nothing half-written was kept.' },
  BACKUP_NOT_FOUND: { kind: 'usage', hint: 'Pass the path of a backup folder, or run dbops list-backups to see them.' },
  BACKUP_INVALID: { kind: 'usage', hint: 'Pass a folder made by dbops backup-db (it holds metadata.json) or by the old backup scripts.' },
  BACKUP_CORRUPT: { kind: 'failure', hint: 'The backup was changed or damaged after it was written; restore another one (dbops list-backups).' },
  NO_BACKUPS: { kind: 'usage', hint: 'Take one first with dbops backup-db, or pass a backup folder path.' },
  CONFIRMATION_REQUIRED: { kind: 'usage', hint: 'Review the backup and target above, then rerun with --yes.' },
  CONFIRM_MISMATCH: { kind: 'usage', hint: 'For a protected target pass --confirm with the exact name of the target database.' },
  CANCELLED: { kind: 'failure', hint: 'Nothing was changed.' },
  TARGET_UNFIT: {
    kind: 'failure',
    hint: 'Nothing was changed. Give the target what the line above names, or restore into a database that has it (for auth data: the Supabase project those users live in).',
  },
  RESTORE_LOCKED: { kind: 'failure', hint: 'Another restore into this database is running; wait for it to finish.' },
  RESTORE_BLOCKED: {
    kind: 'failure',
    hint: 'Commit or end the sessions named above (SELECT pg_terminate_backend(<pid>) ends one) and rerun; DBOPS_LOCK_TIMEOUT sets how long dbops waits (default 30s).',
  },
  LOCK_TIMEOUT: {
    kind: 'failure',
    hint: 'Another session holds a lock on what is named above: commit or end it (SELECT pg_terminate_backend(<pid>)) and rerun; DBOPS_LOCK_TIMEOUT sets how long dbops waits (default 30s).',
  },
  RESTORE_FAILED: { kind: 'failure', hint: 'The target was put back as it was from the pre-restore snapshot; fix the cause above and rerun.' },
  ROLLBACK_FAILED: { kind: 'failure', hint: 'Restore the pre-restore snapshot named above by hand: dbops restore-db <that folder> --no-safety-backup.' },
  VERIFY_FAILED: {
    kind: 'failure',
    hint: "Row counts or content differ from the backup; see the tables listed. The backup may not match this target's setup.",
  },
  ARTIFACTS_INVALID: { kind: 'failure', hint: 'Fix the frontmatter of the files named above (see commands/backup-db.md for a valid example).' },
  COMMAND_UNKNOWN: { kind: 'usage', hint: 'Run dbops --help for the commands.' },
  MCP_REFUSED: {
    kind: 'usage',
    hint: 'Agents may only use configured targets and backups inside the backups directory; see the mcp section of dbops.config.yaml.',
  },
  EMBEDDED_FAILED: { kind: 'failure', hint: 'A throwaway PostgreSQL could not start; the line above says why. Nothing was left behind.' },
  INTERNAL: { kind: 'failure', hint: 'This is a bug in dbops; please report it with the command you ran.' },
  // Off-site copies (remote/): S3-compatible storage and client-side encryption.
  REMOTE_UNKNOWN: { kind: 'usage', hint: 'Name a remote from remotes: in dbops.config.yaml, or give one as s3://bucket/prefix.' },
  REMOTE_INVALID: {
    kind: 'usage',
    hint: 'Use s3://bucket/prefix (bucket names: 3-63 lower-case letters, digits, dots and hyphens) and an http(s):// endpoint.',
  },
  REMOTE_AUTH_FAILED: {
    kind: 'failure',
    hint: 'Check the credentials the AWS SDK finds (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, AWS_PROFILE) and that they may read, write and list this bucket; they are never printed.',
  },
  REMOTE_BUCKET_MISSING: {
    kind: 'failure',
    hint: 'Create the bucket first (dbops never creates buckets: their region, policy and lifecycle are yours to choose), or fix the name.',
  },
  REMOTE_CLOCK_SKEW: {
    kind: 'failure',
    hint: "This machine's clock differs from the storage server's by more than S3 allows (15 minutes): sync it (timedatectl set-ntp true) and rerun.",
  },
  REMOTE_UNREACHABLE: {
    kind: 'failure',
    hint: 'Check the endpoint, the network and any proxy, then rerun: a push resumes where it stopped, and nothing half-uploaded is ever listed as a backup.',
  },
  REMOTE_OBJECT_LOCK: {
    kind: 'failure',
    hint: "The bucket has S3 Object Lock: its objects cannot be deleted before their retention ends, so dbops does not prune there. Let the bucket's lifecycle rules expire old versions, or use a bucket without Object Lock.",
  },
  REMOTE_FAILED: { kind: 'failure', hint: 'The storage server refused the request named above; check the bucket, its policy and the endpoint.' },
  REMOTE_BACKUP_NOT_FOUND: {
    kind: 'usage',
    hint: 'Run dbops list-backups --remote REMOTE for the complete copies there; an incomplete one is finished by pushing it again.',
  },
  REMOTE_CORRUPT: {
    kind: 'failure',
    hint: 'The copy in the bucket was changed or damaged after it was pushed; nothing was kept locally. Push the backup again, or fetch another one.',
  },
  ENCRYPTION_KEY_MISSING: {
    kind: 'usage',
    hint: 'Set DBOPS_ENCRYPTION_KEY (or DBOPS_ENCRYPTION_KEY_FILE, or encryption_key_file for the remote) to 32 random bytes: openssl rand -hex 32. Keep a copy elsewhere: without it no copy can be read.',
  },
  ENCRYPTION_KEY_INVALID: {
    kind: 'usage',
    hint: 'The key must be 32 random bytes written as 64 hex characters or in base64 (openssl rand -hex 32), in a file only you can read (chmod 600).',
  },
  ENCRYPTION_KEY_WRONG: { kind: 'failure', hint: 'Use the key this copy was pushed with (its key id is named above); nothing was written.' },
} as const satisfies Record<string, Entry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class DbopsError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly kind: ErrorKind;
  /** Extra lines (e.g. every invalid config key) shown after the message. */
  readonly details: readonly string[];

  constructor(code: ErrorCode, message: string, options: { hint?: string; details?: string[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DbopsError';
    this.code = code;
    this.kind = ERROR_CATALOGUE[code].kind;
    this.hint = options.hint ?? ERROR_CATALOGUE[code].hint;
    this.details = options.details ?? [];
  }
}

export function isDbopsError(error: unknown): error is DbopsError {
  return error instanceof DbopsError;
}

/** The one line every face shows: what happened, what to do, and the stable code. */
export function formatErrorLine(error: DbopsError): string {
  return `error [${error.code}]: ${boundedMessage(error.message)} Hint: ${error.hint}`;
}

/** Past 2,000 characters a message is cut in the middle: whatever a message quotes, a face shows it bounded. */
export function boundedMessage(message: string, max = 2000): string {
  if (message.length <= max) return message;
  const tail = 300;
  return `${message.slice(0, max - tail)} … ${message.length - max} characters left out … ${message.slice(-tail)}`;
}

/**
 * A value the caller gave, as an error message may show it: on one line, and cut short when long,
 * so a huge argument is never echoed back whole (a terminal, a log or a model's context reads it).
 */
export function cutShort(value: string, max = 80): string {
  const line = value.replace(/\n/g, '\\n').replace(/[\u0000-\u001f\u007f]/g, '?');
  return line.length <= max ? line : `${line.slice(0, max)}… (${value.length} characters)`;
}

/** Anything that is not already a DbopsError becomes INTERNAL, keeping the original as cause. */
export function toDbopsError(error: unknown): DbopsError {
  if (isDbopsError(error)) return error;
  // A write into a full disk (a CSV, metadata.json, checksums) is the disk's fault, not a bug.
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    const file = (error as NodeJS.ErrnoException).path;
    return new DbopsError('DISK_FULL', `No space left on device${file === undefined ? '' : ` writing ${file}`}.`, { cause: error });
  }
  // A statement of ours that waited on another session's lock past lock_timeout (connection-locks.ts).
  if (code === '55P03')
    return new DbopsError('LOCK_TIMEOUT', `A statement waited too long for a lock another session holds: ${(error as Error).message}.`, { cause: error });
  const message = error instanceof Error ? error.message : String(error);
  return new DbopsError('INTERNAL', message, { cause: error });
}
