import * as z from 'zod';

// What verify-backup accepts, apart from the engine behind it: flags, --help and the MCP input are
// made from it without loading the engine.

export const verifyOptionsSchema = z.strictObject({
  backup: z
    .string()
    .optional()
    .describe('Backup folder path, "latest" (default), or a copy in a remote as s3://bucket/prefix/<folder> (fetched into a temporary folder, removed after)'),
  drill: z.boolean().default(false).describe('Also restore into a throwaway database and compare row counts'),
  target: z.string().optional().describe('Server for the drill database (default: the configured default target, else an embedded server)'),
  url: z.string().optional().describe('Server for the drill database, as a URL'),
});
