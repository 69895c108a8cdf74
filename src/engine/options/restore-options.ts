import * as z from 'zod';

// What restore-db accepts, apart from the engine behind it: flags, --help and the MCP input are
// made from it without loading the engine.

export const restoreOptionsSchema = z.strictObject({
  backup: z
    .string()
    .optional()
    .describe(
      'Backup folder path, "latest" (default): the newest complete backup, or a copy in a remote as s3://bucket/prefix/<folder> (fetched into the backups directory first)',
    ),
  from: z.string().optional().describe('With "latest": the newest backup taken from this target'),
  target: z.string().optional().describe('Configured target to restore into (default: dev)'),
  url: z.string().optional().describe('Connection URL to restore into instead of a configured target'),
  yes: z.boolean().default(false).describe('Do not ask for confirmation'),
  confirm: z.string().optional().describe('Name of the target database; required for protected targets'),
  jobs: z.number().int().min(1).max(64).optional().describe('Parallel pg_restore jobs'),
  safetyBackup: z.boolean().default(true).describe('Back up the target first (label pre-restore) and roll back to it on failure'),
  dataOnly: z.boolean().default(false).describe('Restore only the data of --tables into the existing schema'),
  tables: z.array(z.string()).optional().describe('schema.table names for a data-only restore'),
  verify: z.enum(['counts', 'content']).default('counts').describe('counts: row counts; content: also per-table content hashes'),
  dryRun: z.boolean().default(false).describe('Show the plan (the backup checked, what is restored, left as the target has it, skipped) and change nothing'),
});
