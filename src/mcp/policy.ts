import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type { EngineContext } from '../engine/context.js';
import { DbopsError } from '../engine/errors.js';
import { backupsRoot } from '../engine/folder/layout.js';
import { resolveTarget, type ResolvedTarget } from '../engine/targets.js';

// What an agent may touch: targets named in the config (URLs only when the config allows),
// backup folders inside the backups directory — no "..", no absolute paths elsewhere, no
// links leading out — and remotes named in the config (never an inline s3:// URL: that would
// let an agent send copies to, or read them from, any bucket the credentials reach).

export async function confineBackup(reference: string, ctx: EngineContext): Promise<string> {
  if (reference === 'latest') return 'latest';
  if (reference.startsWith('s3://')) {
    throw new DbopsError(
      'MCP_REFUSED',
      'A copy in a remote (s3://…) is not a folder inside the backups directory: agents verify and restore only those. A person can run dbops verify-backup or dbops restore-db with the s3:// URL.',
    );
  }
  const root = backupsRoot(ctx.root, ctx.config.backup.dir, ctx.env);
  if (reference.split(/[\\/]/).includes('..')) {
    throw new DbopsError('MCP_REFUSED', `Backup "${reference}" contains "..": name a folder inside the backups directory.`);
  }
  const candidate = path.resolve(root, reference);
  const [realRoot, realCandidate] = await Promise.all([realpath(root).catch(() => root), realpath(candidate).catch(() => candidate)]);
  if (path.dirname(realCandidate) !== realRoot) {
    throw new DbopsError('MCP_REFUSED', `Backup "${reference}" is not a folder directly inside the backups directory ${root}.`);
  }
  return realCandidate;
}

/** A remote an agent names must be one of remotes: in dbops.config.yaml (undefined: the only one). */
export function checkRemoteAllowed(remote: string | undefined, ctx: EngineContext): void {
  if (remote === undefined || Object.hasOwn(ctx.config.remotes, remote)) return;
  const known = Object.keys(ctx.config.remotes);
  throw new DbopsError(
    'MCP_REFUSED',
    `Agents name remotes from dbops.config.yaml (${known.length === 0 ? 'none is configured' : `configured: ${known.join(', ')}`}); ${remote.startsWith('s3://') ? 's3:// URLs are refused' : 'that name is not one of them'}.`,
    {
      hint: 'Name a remote from remotes: in dbops.config.yaml, or leave the remote out when exactly one is configured.',
    },
  );
}

export function checkUrlAllowed(url: string | undefined, ctx: EngineContext): void {
  if (url !== undefined && !ctx.config.mcp.allow_urls) {
    throw new DbopsError('MCP_REFUSED', 'Connection URLs are refused for agents: name a target from dbops.config.yaml (or set mcp.allow_urls).');
  }
}

/** restore_db: confirm must equal the target database's name; protected targets must also be allowed. */
export function checkRestoreAllowed(choice: { target?: string | undefined; url?: string | undefined }, confirm: string, ctx: EngineContext): ResolvedTarget {
  checkUrlAllowed(choice.url, ctx);
  const target = resolveTarget(ctx.config, choice, ctx.env, 'dev');
  if (target.protected && !ctx.config.mcp.allow_protected_restore.includes(target.name)) {
    throw new DbopsError('MCP_REFUSED', `Target "${target.name}" is protected: agents may not restore into it (mcp.allow_protected_restore).`);
  }
  if (confirm !== target.spec.database) {
    throw new DbopsError('CONFIRM_MISMATCH', `confirm "${confirm}" does not match the target database "${target.spec.database}".`, {
      hint: 'Set confirm to the exact name of the target database, after checking the target and the backup with the user.',
    });
  }
  return target;
}
