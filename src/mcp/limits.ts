import * as z from 'zod';

// What an agent may send: every string and list with a size limit, so a huge or malformed
// argument is refused by the schema — before the call runs, is recorded or echoed — with a
// message that names the argument, never its value. Unknown arguments are refused too (a
// misspelt dryRun must not prune for real), named cut short.

/** PostgreSQL names are at most 63 bytes: targets, databases, roles. */
export const NAME_MAX = 63;

export const name = (description: string) => z.string().min(1).max(NAME_MAX).describe(description);

/** A remote as an agent names it: from dbops.config.yaml only (policy.ts refuses s3:// URLs). */
export const remoteName = (description = 'A remote named in dbops.config.yaml (default: the only configured one)') => name(description);

/** A strict object whose "unknown argument" error cannot carry a huge key back. */
export function agentInput<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code !== 'unrecognized_keys') return undefined;
      const keys = issue.keys.slice(0, 5).map((k) => (k.length > 40 ? `(a name of ${k.length} characters)` : JSON.stringify(k)));
      return `unknown argument${issue.keys.length > 1 ? 's' : ''} ${keys.join(', ')}${issue.keys.length > 5 ? ` and ${issue.keys.length - 5} more` : ''}`;
    },
  });
}

/** The description a command's own schema gives a field, kept when the agent's version narrows it. */
export function describedAs(schema: z.ZodObject, field: string): string {
  return (schema.shape[field] as z.ZodType | undefined)?.description ?? '';
}

/** A connection URL: long enough for any real host, user and options. */
export const URL_MAX = 2048;
/** A folder name in the backups directory (file systems stop at 255 bytes). */
export const FOLDER_MAX = 255;
