import * as z from 'zod';

// What `dbops history` accepts, apart from the queries behind it (flags, --help and the MCP input are made from it).

export const historyOptionsSchema = z.strictObject({
  artifact: z.string().optional().describe('Only runs of this command, e.g. backup-db'),
  status: z.enum(['completed', 'failed', 'running']).optional().describe('Only runs with this outcome'),
  since: z
    .string()
    .regex(/^\d+[mhdw]$/, 'use a number and m, h, d or w, e.g. 7d')
    .optional()
    .describe('Only runs started within this period, e.g. 7d, 12h'),
  limit: z.number().int().min(1).max(1000).default(20).describe('At most this many runs'),
  target: z.string().optional().describe('Read history from this target when neither DBOPS_EVENTS_URL nor DATABASE_URL is set'),
  url: z.string().optional().describe('Read history from this database'),
});
