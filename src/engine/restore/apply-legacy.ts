import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { ident } from '../pg/sql.js';
import { dbnameArg, runTool } from '../tools/pg-tools.js';
import type { ApplyRequest, ApplyResult } from './apply-backup.js';

// The three layouts the team's scripts wrote before dbops, restored the way their documents
// say (../shared/seeds): extensions first, creating the schemas they go into; the pnpm layout
// replaces the public schema (its restore "DROPS entire public schema" and recreates it, and its
// backup.sql, a dump of public, creates it again); then the dump, grants and publication members.

const psql = ['-X', '-q', '-v', 'ON_ERROR_STOP=1'];

export async function applyLegacy({ handle, target, jobs, signal, onStep }: ApplyRequest, reload: () => Promise<void>): Promise<ApplyResult> {
  const file = (name: string) => path.join(handle.dir, name);
  const run = { connection: target, signal };
  const has = async (name: string) => readFile(file(name)).then(() => true, () => false);
  const notes = [`${handle.folder} is an old-layout backup (${handle.layout}); it was restored without checksums.`];

  if (handle.layout === 'legacy-prod-sql') {
    onStep?.('drop', 'the public schema, as the pnpm restore did');
    await runTool('psql', [...psql, '--single-transaction', '-c', 'DROP SCHEMA IF EXISTS public CASCADE', '-c', 'CREATE SCHEMA public', '-c', 'GRANT USAGE ON SCHEMA public TO PUBLIC'], run);
  }

  onStep?.('extensions');
  if (await has('extensions.sql')) {
    const sql = await readFile(file('extensions.sql'), 'utf8');
    await runTool('psql', psql, { ...run, input: `${schemasNamedIn(sql).map((s) => `CREATE SCHEMA IF NOT EXISTS ${s};`).join('\n')}\n${sql}` });
  } else if (await has('extensions.tsv')) {
    await runTool('psql', psql, { ...run, input: extensionsFromTsv(await readFile(file('extensions.tsv'), 'utf8')) });
  }

  onStep?.('schema-and-data');
  if (handle.layout === 'legacy-custom-dump') {
    await runTool('pg_restore', ['--clean', '--if-exists', '--exit-on-error', `--jobs=${jobs}`, dbnameArg(target.database), file('db_full.dump')], run);
  } else if (handle.layout === 'legacy-sql-gz') {
    await runTool('psql', psql, { ...run, input: createReadStream(file('backup.sql.gz')).pipe(createGunzip()) });
  } else {
    // The old restore "cleans the backup file": the public schema it just made is not made twice.
    await runTool('psql', psql, { ...run, input: publicSchemaOnce(createReadStream(file('backup.sql'))) });
  }
  for (const [step, name] of [['grants', 'grants.sql'], ['realtime', 'realtime.sql']] as const) {
    onStep?.(step);
    if (await has(name)) await runTool('psql', [...psql, '-f', file(name)], run);
  }
  await reload();
  return { createdRoles: [], notes };
}

/** Schemas an extensions.sql puts extensions into (WITH SCHEMA x), as written there (quoted or not). */
export function schemasNamedIn(sql: string): string[] {
  const names = [...sql.matchAll(/WITH\s+SCHEMA\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)/gi)].map((m) => m[1]!);
  return [...new Set(names)];
}

/** extensions.tsv of the old scripts: name, version[, schema] per line, with or without a header. */
export function extensionsFromTsv(tsv: string): string {
  return tsv
    .split('\n')
    .map((line) => line.split('\t'))
    .filter(([name]) => name !== undefined && name !== '' && name !== 'name' && name !== 'extname' && name !== 'plpgsql')
    .map(([name, , schema]) => (schema ? `CREATE SCHEMA IF NOT EXISTS ${ident(schema)};\n` : '') + `CREATE EXTENSION IF NOT EXISTS ${ident(name!)}${schema ? ` WITH SCHEMA ${ident(schema)}` : ''};`)
    .join('\n');
}

/** Streams a plain SQL dump with its `CREATE SCHEMA public;` made `CREATE SCHEMA IF NOT EXISTS public;`. */
function publicSchemaOnce(input: Readable): Readable {
  let tail = '';
  const decoder = new StringDecoder('utf8');
  const fix = (text: string) => text.replace(/^CREATE SCHEMA public;$/gm, 'CREATE SCHEMA IF NOT EXISTS public;');
  return input.pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        const text = tail + decoder.write(chunk);
        const cut = text.lastIndexOf('\n') + 1;
        tail = text.slice(cut);
        done(null, fix(text.slice(0, cut)));
      },
      flush(done) {
        done(null, fix(tail + decoder.end()));
      },
    }),
  );
}
