import * as z from 'zod';

// What the off-site copy operations accept (engine/remote/), apart from the engine behind them:
// the commands' flags, --help and MCP inputs are made from these without loading the AWS SDK.

/** A remote as every command names it. */
export const remoteReference = z.string().min(1).describe('Remote name from dbops.config.yaml, or s3://bucket/prefix (default: the only configured remote)');

/** "s3://…": a remote (or a copy on one) given inline rather than by name. */
export function isRemoteUrl(reference: string | undefined): reference is string {
  return reference !== undefined && reference.startsWith('s3://');
}

export const pushOptionsSchema = z.strictObject({
  backup: z.string().min(1).default('latest').describe('Backup folder path, or "latest" (default): the newest complete backup'),
  remote: remoteReference.optional(),
});

export const listRemoteOptionsSchema = z.strictObject({
  remote: remoteReference.optional(),
  target: z.string().optional().describe('Only copies of backups taken from this target'),
});

export const pruneRemoteOptionsSchema = z.strictObject({
  remote: remoteReference.optional(),
  target: z.string().optional().describe('Only prune copies of backups taken from this target'),
  dryRun: z.boolean().default(false).describe('Report what would be removed, remove nothing'),
});

export const fetchOptionsSchema = z.strictObject({
  url: z.string().optional().describe('The copy as s3://bucket/prefix/<folder> (instead of remote and folder)'),
  remote: z.string().optional().describe('Remote name from dbops.config.yaml, or s3://bucket/prefix'),
  folder: z.string().optional().describe('Backup folder name on the remote'),
  into: z.string().optional().describe('Local directory to write the folder into (default: the backups directory)'),
});
