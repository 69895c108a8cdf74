import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as z from 'zod';
import { isRemoteUrl } from '../engine/options/remote-options.js';
import { verifyOptionsSchema } from '../engine/options/verify-options.js';
import { agentInput, describedAs, FOLDER_MAX } from '../mcp/limits.js';
import { confineBackup } from '../mcp/policy.js';
import type { Command } from './command.js';
import { fetchedOutput, fetchedText, fetchWithProgress, type FetchedOutput } from './remote-copy.js';
import { verificationOutput, verificationShape } from './verification.js';

// verify-backup: a backup's checks without touching a database, and --drill: a restore into a
// throwaway database, compared, then dropped. A copy in a remote (s3://…) is fetched into a
// temporary folder first (decrypted, every chunk and sha256 checked), verified there, and the
// folder removed whatever happens.

const output = z.object({
  /** The folder verified; for a copy in a remote, its s3:// URL (the temporary folder is gone). */
  backupDir: z.string(),
  folder: z.string(),
  layout: z.string(),
  /** Every check passed. */
  ok: z.boolean(),
  /** Checks passed and there was something to verify them against (never for old layouts). */
  verified: z.boolean(),
  checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string() })),
  drill: z
    .object({ server: z.string(), database: z.string(), dropped: z.boolean(), verification: verificationOutput.nullable(), error: z.string().nullable() })
    .nullable(),
  /** The remote copy fetched to be verified; null for a local folder. */
  fetched: fetchedOutput.nullable(),
});
type Output = z.output<typeof output>;

export const verifyBackup: Command<typeof verifyOptionsSchema, typeof output> = {
  name: 'verify-backup',
  input: verifyOptionsSchema,
  output,
  readOnly: true,
  cli: {
    positional: 'backup',
    examples: [
      'dbops verify-backup',
      'dbops verify-backup latest --drill',
      'dbops verify-backup storage/backups/20261123_070312_staging_nightly --json',
      'dbops verify-backup s3://acme-db-backups/dbops/prod/20261123_071502_prod --drill',
    ],
  },
  target: (input) => (input.drill ? { target: input.target, url: input.url } : undefined),
  async run(input, ctx, io) {
    const { verifyBackup: verify } = await import('../engine/lifecycle/verify-backup.js');
    const check = async (backup: string | undefined, fetched: FetchedOutput | null): Promise<Output> => {
      const r = await verify({ ...input, backup }, ctx, (message) => io.progress(message));
      return {
        backupDir: fetched?.url ?? r.backupDir,
        folder: r.folder,
        layout: r.layout,
        ok: r.ok,
        verified: r.verified,
        checks: r.checks,
        drill: r.drill === null ? null : { ...r.drill, verification: r.drill.verification === null ? null : verificationShape(r.drill.verification) },
        fetched,
      };
    };
    if (!isRemoteUrl(input.backup)) return check(input.backup, null);
    const temp = await mkdtemp(path.join(tmpdir(), 'dbops-verify-'));
    try {
      const fetched = await fetchWithProgress(input.backup, temp, ctx, io);
      return await check(fetched.dir, { ...fetched, dir: null });
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  },
  succeeded: (r) => r.ok,
  summary: (r) =>
    `${r.verified ? 'Verified' : r.ok ? 'Checks passed, not verified (old layout, no checksums)' : 'FAILED'}: ${r.checks.filter((c) => c.ok).length}/${r.checks.length} checks passed.`,
  text: verifyText,
  mcp: {
    tool: 'verify_backup',
    title: 'Verify a backup',
    description:
      'Check a backup without touching any database: metadata, every sha256, the dump, the CSVs and their row counts. (Restore drills are CLI-only: dbops verify-backup --drill.)',
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    input: agentInput({ backup: z.string().min(1).max(FOLDER_MAX).optional().describe(describedAs(verifyOptionsSchema, 'backup')) }),
    async prepare(args, ctx) {
      return { backup: await confineBackup(args.backup ?? 'latest', ctx), drill: false };
    },
  },
};

function verifyText(r: Output): string {
  const drill = r.drill;
  return [
    r.verified
      ? `✅ ${r.folder}: verified`
      : r.ok
        ? `⚠️  ${r.folder}: checks passed, not verified: an old layout carries no checksums`
        : `❌ ${r.folder}: FAILED verification`,
    ...(r.fetched ? [`   ☁️  fetched: ${fetchedText(r.fetched)}`] : []),
    ...r.checks.map((c) => `   ${c.ok ? '✅' : '❌'} ${c.name}: ${c.detail}`),
    ...(drill
      ? [
          `   ${drill.verification?.verified ? '✅' : '❌'} drill: restored into ${drill.database} on ${drill.server}${drill.dropped ? ' (dropped afterwards)' : ''}`,
          ...(drill.error ? [`      ${drill.error}`] : []),
          ...(drill.verification
            ? [
                `      ${drill.verification.tables.length - drill.verification.mismatches.length}/${drill.verification.tables.length} tables match row_counts.json`,
                ...drill.verification.tables
                  .filter((t) => !t.ok)
                  .map((t) => `      ❌ ${t.schema}.${t.table}: ${t.actual ?? 'missing'} rows, expected ${t.expected}`),
              ]
            : []),
        ]
      : []),
  ].join('\n');
}
