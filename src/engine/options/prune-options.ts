import * as z from 'zod';

// What prune-backups accepts, apart from the engine behind it: flags, --help and the MCP input are
// made from it without loading the engine.

export const pruneOptionsSchema = z.strictObject({
  target: z.string().optional().describe('Only prune backups taken from this target'),
  dryRun: z.boolean().default(false).describe('Report what would be removed, remove nothing'),
});
