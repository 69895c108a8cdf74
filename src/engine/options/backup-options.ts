import * as z from 'zod';

// What backup-db accepts, apart from the engine behind it: flags, --help and the MCP input are
// made from it without loading the engine.

export const backupOptionsSchema = z.strictObject({
  target: z.string().optional().describe("Configured target to back up (default: the config's default_target)"),
  url: z.string().optional().describe('Connection URL instead of a configured target'),
  prod: z.boolean().default(false).describe('Production mode: leave out org_data and transient data'),
  exclude: z.array(z.string()).default([]).describe('Categories to leave out, e.g. ["transient"]'),
  label: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/, 'a label is 1-40 letters, digits, - or _')
    .optional()
    .describe('Label appended to the folder name, e.g. pre-upgrade'),
  out: z.string().optional().describe('Directory to write this backup into instead of the backups directory'),
  jobs: z.number().int().min(1).max(64).optional().describe('Parallel pg_dump workers'),
  contentHashes: z.boolean().optional().describe('Record per-table content hashes (default: on, at any size; false leaves them out)'),
  plan: z.boolean().default(false).describe('Write nothing: list every table with its category and whether its rows would be kept'),
});
