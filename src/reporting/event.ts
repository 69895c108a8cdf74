import * as z from 'zod';

// One row of code_ops.artifact_events, as it travels to the database or the spool.

export const artifactEventSchema = z.strictObject({
  run_id: z.uuid(),
  artifact_type: z.enum(['command', 'skill']),
  artifact_name: z.string(),
  artifact_version: z.string().nullable(),
  event_type: z.enum(['invoked', 'completed', 'failed']),
  success: z.boolean().nullable(),
  details: z.record(z.string(), z.unknown()),
  created_at: z.iso.datetime(),
});

export type ArtifactEvent = z.infer<typeof artifactEventSchema>;
