import path from 'node:path';
import type pg from 'pg';
import type { BackupHandle, TableCount } from '../folder/open.js';
import { loadRowCounts } from '../folder/open.js';
import { MAX_METADATA_BYTES, readLimited } from '../folder/confine.js';
import { hashColumns, hashSettingsSql, legacyContentHash, tableFacts, type HashColumn } from '../backup/content-hash.js';
import type { ConnectionSpec } from '../connection.js';
import { contentHashesSchema, tableKey, type ContentHashes } from '../folder/manifest.js';
import { countRows, type TableRef } from '../pg/catalog.js';
import { connect, query } from '../pg/client.js';
import { qualifiedName } from '../pg/sql.js';

// Proof of a restore: every table's rows counted and compared with row_counts.json (included
// data must match exactly, left-out data must be empty), and on request a content hash per
// table compared with the one the backup recorded from its snapshot. Tables are checked on
// `jobs` connections at once, biggest first; with content on, a table's count and hash come
// from one aggregate (content-hash.ts), computed exactly as the backup computed it.
// A table the restore creates and fills from its CSV is checked on the loading connection as
// soon as its rows are in (checkLoaded), while the rest of the data still loads: nothing the
// restore does after the load writes rows into it (indexes, keys, triggers, grants and policies
// come after, and change none), so the check says what one at the end would, and the end has
// less to do. (Another session writing into that new table during the rest of the restore goes
// unseen by it; the README's limits say so.) The tables pg_restore fills in its first run are
// checked the same way, on a connection of their own, while the rest of the restore runs
// (checkRestored).

const HISTORY_TABLE = 'code_ops.artifact_events';

export interface TableCheck {
  schema: string;
  table: string;
  expected: number;
  actual: number | null;
  dataIncluded: boolean;
  /** The platform's table whose rows the target kept as its own (not restored, not compared). */
  keptByTarget?: boolean | undefined;
  ok: boolean;
  contentOk?: boolean | undefined;
}

export interface Verification {
  verified: boolean;
  /** False when the backup recorded no counts (some old layouts): nothing could be compared. */
  countsRecorded: boolean;
  tables: TableCheck[];
  mismatches: TableCheck[];
  emptyTables: string[];
  contentChecked: boolean;
  contentMismatches: string[];
}

/** What the backup recorded for one table's content, in either format of content_hashes.json. */
type RecordedHash = { format: 'column-hash-sum/1'; columns: string[]; hash: string } | { format: 'legacy-md5'; hash: string };

interface Job {
  index: number;
  ref: TableRef;
  key: string;
  oid: number | null;
  expected: { rows: number; dataIncluded: boolean };
  recorded: RecordedHash | undefined;
  /** The old scripts' row_counts.json counted with count(*): partitions and children included. */
  withChildren: boolean;
}

export interface VerifyOptions {
  content: boolean;
  keptByTarget?: readonly string[];
  jobs?: number;
}

type Checked = { actual: number | null; contentOk: boolean | undefined };

export async function verifyRestore(handle: BackupHandle, target: ConnectionSpec, options: VerifyOptions): Promise<Verification> {
  return (await RestoreVerifier.open(handle, options)).finish(target);
}

export class RestoreVerifier {
  private readonly early = new Map<string, Checked>();
  /** Checks still running beside the restore; finish() waits for them. */
  private readonly running: Array<Promise<void>> = [];

  private constructor(
    private readonly handle: BackupHandle,
    private readonly options: VerifyOptions,
    private readonly counts: Map<string, TableCount> | undefined,
    private readonly recorded: Map<string, RecordedHash> | undefined,
  ) {}

  /** Reads what the backup recorded (row_counts.json, content_hashes.json); touches no database. */
  static async open(handle: BackupHandle, options: VerifyOptions): Promise<RestoreVerifier> {
    const counts = await loadRowCounts(handle);
    const recorded = options.content && handle.manifest?.options.contentHashes ? await loadHashes(handle) : undefined;
    return new RestoreVerifier(handle, options, counts, recorded);
  }

  /**
   * Checks one table the restore just filled, on the connection that filled it. A check that
   * fails to run (a timeout, a cancel) is not the restore's failure: the table is then checked
   * at the end, as any other.
   */
  async checkLoaded(client: pg.Client, ref: TableRef): Promise<void> {
    const key = tableKey(ref);
    const count = this.counts?.get(key);
    if (count === undefined || key === HISTORY_TABLE || (this.options.keptByTarget ?? []).includes(key)) return;
    try {
      await client.query('BEGIN');
      // SET LOCAL: the loading session keeps its own settings for the COPYs that follow.
      await client.query(hashSettingsSql(true));
      const oid =
        (await query<{ oid: number | null }>(client, 'restored table', 'SELECT to_regclass($1)::oid::int AS oid', [qualifiedName(ref)]))[0]?.oid ?? null;
      const job = this.job(key, count, 0, oid);
      const columns = oid !== null && job.recorded?.format === 'column-hash-sum/1' ? await hashColumns(client, [oid]) : new Map<number, HashColumn[]>();
      const checked = await checkTable(client, job, columns);
      await client.query('COMMIT');
      this.early.set(key, checked);
    } catch {
      await client.query('ROLLBACK').catch(() => undefined);
    }
  }

  /**
   * Checks tables the restore has filled and will not write again, one after the other on a
   * connection of its own, while the restore goes on. After `wrapUp` no further table is started
   * (the one under way finishes); `stop` ends it at once (the restore failed, or was cancelled).
   * Whatever was not checked is then checked at the end, as any other table.
   */
  checkRestored(target: ConnectionSpec, refs: readonly TableRef[], stop: AbortSignal, wrapUp?: AbortSignal): Promise<void> {
    const wanted = refs.filter((ref) => this.counts?.has(tableKey(ref)) === true);
    if (wanted.length === 0 || stop.aborted) return Promise.resolve();
    const checks = (async () => {
      const client = await connect(target);
      const end = () => void client.end().catch(() => undefined);
      stop.addEventListener('abort', end, { once: true });
      try {
        // Biggest first: once wrapped up, what is left goes to the end's parallel checks, and the
        // smaller it is the less the end waits.
        const sizes = await query<{ bytes: string | null }>(
          client,
          'restored tables',
          'SELECT pg_table_size(to_regclass(t))::text AS bytes FROM unnest($1::text[]) WITH ORDINALITY AS u(t, i) ORDER BY i',
          [wanted.map(qualifiedName)],
        );
        const order = wanted.map((ref, i) => ({ ref, bytes: Number(sizes[i]?.bytes ?? 0) })).sort((a, b) => b.bytes - a.bytes);
        for (const { ref } of order) {
          if (stop.aborted || wrapUp?.aborted) break;
          await this.checkLoaded(client, ref);
        }
      } finally {
        stop.removeEventListener('abort', end);
        end();
      }
    })().catch(() => undefined);
    this.running.push(checks);
    return checks;
  }

  private job(key: string, count: TableCount, index: number, oid: number | null): Job {
    const kept = new Set(this.options.keptByTarget ?? []);
    return {
      index,
      key,
      ref: { schema: count.schema, table: count.table },
      oid,
      expected: count,
      recorded: kept.has(key) || key === HISTORY_TABLE ? undefined : this.recorded?.get(key),
      withChildren: this.handle.layout !== 'dbops',
    };
  }

  /** Checks every table not checked yet and compares the lot with the backup. */
  async finish(target: ConnectionSpec): Promise<Verification> {
    const { options, counts, recorded } = this;
    await Promise.all(this.running);
    const kept = new Set(options.keptByTarget ?? []);
    const recordedCounts = [...(counts ?? new Map<string, TableCount>()).entries()];

    const clients: pg.Client[] = [];
    try {
      clients.push(await connect(target));
      const first = clients[0]!;
      await first.query(hashSettingsSql(false));
      const found = await query<{ key: string; oid: number | null; bytes: string | null }>(
        first,
        'restored tables',
        `SELECT k AS key, c.oid::int AS oid, pg_table_size(c.oid)::text AS bytes
           FROM unnest($1::text[]) WITH ORDINALITY AS k(k, i) LEFT JOIN pg_class c ON c.oid = to_regclass(k) ORDER BY i`,
        [recordedCounts.map(([, count]) => qualifiedName(count))],
      );
      const jobs: Job[] = recordedCounts.map(([key, count], index) => this.job(key, count, index, found[index]?.oid ?? null));
      const results = new Map<number, Checked>();
      for (const job of jobs) {
        const early = this.early.get(job.key);
        if (early !== undefined) results.set(job.index, early);
      }
      const pending = jobs.filter((j) => !results.has(j.index));
      const hashed = pending.filter((j) => j.oid !== null && j.recorded?.format === 'column-hash-sum/1');
      const columns =
        hashed.length > 0
          ? await hashColumns(
              first,
              hashed.map((j) => j.oid!),
            )
          : new Map<number, HashColumn[]>();
      const bytes = new Map(found.map((f, i) => [i, Number(f.bytes ?? 0)]));
      const queue = [...pending].sort((a, b) => bytes.get(b.index)! - bytes.get(a.index)!);

      const extra = Math.max(0, Math.min(options.jobs ?? 2, queue.length) - 1);
      for (let i = 0; i < extra; i++) {
        const client = await connect(target);
        clients.push(client);
        await client.query(hashSettingsSql(false));
      }
      await Promise.all(
        clients.map(async (client) => {
          for (let job = queue.shift(); job !== undefined; job = queue.shift()) results.set(job.index, await checkTable(client, job, columns));
        }),
      );

      const tables: TableCheck[] = [];
      const contentMismatches: string[] = [];
      for (const job of jobs) {
        const { actual, contentOk } = results.get(job.index)!;
        const want = job.expected.dataIncluded ? job.expected.rows : 0;
        const base = { ...job.ref, expected: want, actual, dataIncluded: job.expected.dataIncluded };
        if (kept.has(job.key)) {
          tables.push({ ...base, keptByTarget: true, ok: actual !== null });
          continue;
        }
        // The invocation history keeps the target's own rows on top of the backup's (see keep-history).
        const ok = job.key === HISTORY_TABLE ? actual !== null && actual >= want : actual === want;
        tables.push(contentOk === undefined ? { ...base, ok } : { ...base, ok, contentOk });
        if (contentOk === false) contentMismatches.push(job.key);
      }
      // A recorded hash for a table the counts do not name is a mismatch too (nothing to compare it with).
      for (const key of recorded?.keys() ?? []) if (!counts?.has(key) && key !== HISTORY_TABLE && !kept.has(key)) contentMismatches.push(key);
      const mismatches = tables.filter((t) => !t.ok);
      return {
        verified: mismatches.length === 0 && contentMismatches.length === 0,
        countsRecorded: counts !== undefined,
        tables,
        mismatches,
        emptyTables: tables.filter((t) => t.actual === 0).map((t) => `${t.schema}.${t.table}`),
        contentChecked: recorded !== undefined,
        contentMismatches,
      };
    } finally {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    }
  }
}

async function checkTable(client: pg.Client, job: Job, columns: Map<number, HashColumn[]>): Promise<{ actual: number | null; contentOk: boolean | undefined }> {
  if (job.oid === null) return { actual: null, contentOk: job.recorded === undefined ? undefined : false };
  const recorded = job.recorded;
  if (recorded?.format === 'column-hash-sum/1') {
    // The backup's columns, as the target has them; one the target lacks cannot match.
    const present = columns.get(job.oid) ?? [];
    const chosen = recorded.columns.map((name) => present.find((c) => c.name === name));
    if (chosen.every((c) => c !== undefined)) {
      const facts = await tableFacts(client, job.ref, chosen);
      return { actual: facts.rows, contentOk: facts.hash === recorded.hash };
    }
    return { actual: await countRows(client, job.ref), contentOk: false };
  }
  const actual = await countRows(client, job.ref, job.withChildren);
  if (recorded?.format === 'legacy-md5') return { actual, contentOk: (await legacyContentHash(client, job.ref)) === recorded.hash };
  return { actual, contentOk: undefined };
}

/** content_hashes.json in either format, keyed "schema.table". */
async function loadHashes(handle: BackupHandle): Promise<Map<string, RecordedHash>> {
  const file = path.join(handle.dir, 'content_hashes.json');
  const parsed: ContentHashes = contentHashesSchema.parse(
    JSON.parse((await readLimited(file, MAX_METADATA_BYTES, `${handle.folder}/content_hashes.json`)).toString('utf8')),
  );
  if ('algorithm' in parsed) return new Map(parsed.tables.map((t) => [tableKey(t), { format: parsed.algorithm, columns: t.columns, hash: t.hash }]));
  return new Map(parsed.tables.map((t) => [tableKey(t), { format: 'legacy-md5', hash: t.hash }]));
}
