import * as z from 'zod';

// What list-backups accepts, apart from the engine behind it: flags, --help and the MCP input are
// made from it without loading the engine.

export const listOptionsSchema = z.strictObject({
  target: z.string().optional().describe('Only backups taken from this target'),
});
