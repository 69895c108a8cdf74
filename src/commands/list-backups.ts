import * as z from 'zod';
import type { EngineContext } from '../engine/context.js';
import { listOptionsSchema } from '../engine/options/list-options.js';
import { remoteReference } from '../engine/options/remote-options.js';
import { agentInput, describedAs, name, remoteName } from '../mcp/limits.js';
import { checkRemoteAllowed } from '../mcp/policy.js';
import type { Command } from './command.js';
import { formatAge, formatBytes } from './format.js';

// list-backups: the backups directory, newest first, with each folder's status; --remote: the
// copies in a remote instead, with theirs (other-key: pushed with another encryption key).

const ICON = { valid: '✅', legacy: '🗄 ', incomplete: '⏳', corrupt: '❌', 'other-key': '🔑' } as const;

const input = listOptionsSchema.extend({
  remote: remoteReference
    .optional()
    .describe('List the copies in this remote instead of the backups directory: a name from dbops.config.yaml, or s3://bucket/prefix'),
});

const output = z.object({
  /** The backups directory, or the remote's s3://bucket/prefix. */
  root: z.string(),
  /** The remote listed; null for the backups directory. */
  remote: z
    .object({
      url: z.string(),
      /** As messages show it: the URL plus the endpoint's host when not AWS. */
      display: z.string(),
      /** The key the copies were read with (derived from it; not the key). */
      keyId: z.string(),
    })
    .nullable(),
  backups: z.array(
    z.object({
      folder: z.string(),
      status: z.enum(['valid', 'incomplete', 'corrupt', 'legacy', 'other-key']),
      createdAt: z.string().nullable(),
      target: z.string().nullable(),
      label: z.string().nullable(),
      mode: z.string().nullable(),
      /** On disk, or as stored in the bucket. */
      bytes: z.number(),
      ageMs: z.number().nullable(),
      problem: z.string().nullable(),
      /** s3://bucket/prefix/<folder> for a copy in a remote; null in the backups directory. */
      url: z.string().nullable(),
      pushedAt: z.string().nullable(),
    }),
  ),
});
type Output = z.output<typeof output>;

export const listBackups: Command<typeof input, typeof output> = {
  name: 'list-backups',
  input,
  output,
  readOnly: true,
  cli: { examples: ['dbops list-backups', 'dbops list-backups --target prod --json', 'dbops list-backups --remote offsite'] },
  target: () => undefined,
  async run({ remote, ...options }, ctx) {
    if (remote !== undefined) return listRemote(remote, options.target, ctx);
    const { listBackups: list } = await import('../engine/lifecycle/list-backups.js');
    const { root, backups } = await list(options, ctx);
    return {
      root,
      remote: null,
      backups: backups.map(({ folder, status, createdAt, target, label, mode, bytes, ageMs, problem }) => ({
        folder,
        status,
        createdAt,
        target,
        label,
        mode,
        bytes,
        ageMs,
        problem,
        url: null,
        pushedAt: null,
      })),
    };
  },
  succeeded: () => true,
  summary: (r) => `${r.backups.length} ${r.remote ? 'copies in the remote' : 'backup folders'}, ${r.backups.filter((b) => b.status === 'valid').length} valid.`,
  text: listText,
  mcp: {
    tool: 'list_backups',
    title: 'List backups',
    description:
      'List the backups in the backups directory, newest first, with status valid, incomplete, corrupt or legacy; with remote, the copies in that remote instead (valid, incomplete, corrupt or other-key).',
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    input: agentInput({
      target: name(describedAs(listOptionsSchema, 'target')).optional(),
      remote: remoteName('List the copies in this remote (named in dbops.config.yaml) instead of the backups directory').optional(),
    }),
    async prepare(args, ctx) {
      checkRemoteAllowed(args.remote, ctx);
      return args;
    },
  },
};

async function listRemote(remote: string, target: string | undefined, ctx: EngineContext): Promise<Output> {
  const { listRemoteBackups } = await import('../engine/remote/list-remote-backups.js');
  const listing = await listRemoteBackups({ remote, target }, ctx);
  const now = (ctx.now ?? (() => new Date()))().getTime();
  return {
    root: listing.url,
    remote: { url: listing.url, display: listing.remote, keyId: listing.keyId },
    backups: listing.backups.map((b) => ({
      folder: b.folder,
      status: b.status,
      createdAt: b.createdAt,
      target: b.target,
      label: b.label,
      mode: b.mode,
      bytes: b.storedBytes,
      // A copy is as old as its backup; one without a readable manifest, as its newest object.
      ageMs: now - new Date(b.createdAt ?? b.modifiedAt).getTime(),
      problem: b.problem,
      url: b.url,
      pushedAt: b.pushedAt,
    })),
  };
}

function listText(r: Output): string {
  const where = r.remote ? r.remote.display : r.root;
  if (r.backups.length === 0) return `No backups in ${where}.`;
  return [
    `${r.remote ? `Copies in ${where} (newest first; key id ${r.remote.keyId})` : `Backups in ${where} (newest first)`}:`,
    'STATUS        CREATED (UTC)        TARGET    LABEL          MODE     SIZE       AGE          FOLDER',
    ...r.backups.map((b) =>
      [
        `${ICON[b.status]} ${b.status}`.padEnd(13),
        (b.createdAt?.replace('T', ' ').slice(0, 19) ?? '—').padEnd(20),
        (b.target ?? '—').padEnd(9),
        (b.label ?? '—').padEnd(14),
        (b.mode ?? '—').padEnd(8),
        formatBytes(b.bytes).padEnd(10),
        (b.ageMs === null ? '—' : formatAge(b.ageMs)).padEnd(12),
        b.folder,
      ].join(' '),
    ),
    ...r.backups.filter((b) => b.problem && b.status !== 'incomplete').map((b) => `  ${b.folder}: ${b.problem}`),
    ...(r.remote && r.backups.some((b) => b.status === 'valid')
      ? ['', `Restore one with: npx dbops restore-db ${r.backups.find((b) => b.status === 'valid')!.url}`]
      : []),
  ].join('\n');
}
