import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { dollarQuoted, ident } from '../pg/sql.js';
import { dbnameArg, runTool } from '../tools/pg-tools.js';
import type { ApplyRequest, ApplyResult } from './apply-backup.js';

// The three layouts the team's scripts wrote before dbops, restored the way their documents
// say (../shared/seeds): extensions first, creating the schemas they go into; the pnpm layout
// replaces the public schema (its restore "DROPS entire public schema" and recreates it, and its
// backup.sql, a dump of public, creates it again); then the dump, grants and publication members.

const psql = ['-X', '-q', '-v', 'ON_ERROR_STOP=1'];

export async function applyLegacy({ handle, target, signal, onStep }: ApplyRequest, reload: () => Promise<void>): Promise<ApplyResult> {
  const file = (name: string) => path.join(handle.dir, name);
  const run = { connection: target, signal };
  const has = async (name: string) =>
    readFile(file(name)).then(
      () => true,
      () => false,
    );
  const notes = [`${handle.folder} is an old-layout backup (${handle.layout}); it was restored without checksums, in one transaction.`];

  let extensions = '';
  if (await has('extensions.sql')) {
    const sql = await readFile(file('extensions.sql'), 'utf8');
    extensions = `${schemasNamedIn(sql)
      .map((s) => `CREATE SCHEMA IF NOT EXISTS ${s};`)
      .join('\n')}\n${sql}\n`;
  } else if (await has('extensions.tsv')) {
    extensions = `${extensionsFromTsv(await readFile(file('extensions.tsv'), 'utf8'))}\n`;
  }

  onStep?.('schema-and-data');
  if (handle.layout === 'legacy-custom-dump') {
    // One transaction, so a failure leaves the target as it was (pg_restore cannot combine it with --jobs).
    if (extensions !== '') await runTool('psql', psql, { ...run, input: extensions });
    await runTool('pg_restore', ['--clean', '--if-exists', '--exit-on-error', '--single-transaction', dbnameArg(target.database), file('db_full.dump')], run);
  } else {
    // Plain SQL, with the side files, through one psql in one transaction: all of it, or nothing.
    const parts: Array<string | (() => Readable)> = [];
    if (handle.layout === 'legacy-prod-sql') {
      // As its restore did: "DROPS entire public schema" and recreates it with its grants; the
      // public schema its backup.sql creates again is then not made twice.
      parts.push('DROP SCHEMA IF EXISTS public CASCADE;\nCREATE SCHEMA public;\nGRANT USAGE ON SCHEMA public TO PUBLIC;\n');
    }
    parts.push(extensions);
    parts.push(
      handle.layout === 'legacy-sql-gz'
        ? () => createReadStream(file('backup.sql.gz')).pipe(createGunzip())
        : () => publicSchemaOnce(createReadStream(file('backup.sql'))),
    );
    if (await has('grants.sql')) parts.push(() => createReadStream(file('grants.sql')));
    if (await has('realtime.sql')) parts.push(membershipsOnce(await readFile(file('realtime.sql'), 'utf8')));
    await runTool('psql', [...psql, '--single-transaction'], { ...run, input: concatenated(parts) });
  }
  await reload();
  return { createdRoles: [], notes };
}

/**
 * The old realtime.sql adds tables with bare `ALTER PUBLICATION p ADD TABLE t;` lines, which fail on
 * a table that is already a member (its document calls such errors normal); each is made a no-op
 * then, and only then, so the whole restore can run in one transaction.
 */
export function membershipsOnce(sql: string): string {
  return sql.replace(
    /^(ALTER PUBLICATION .+ ADD TABLE .+;)[ \t]*$/gim,
    (line) => `DO ${dollarQuoted(`\nBEGIN\n  ${line}\nEXCEPTION WHEN duplicate_object THEN NULL;\nEND\n`)};`,
  );
}

/** Text and streams one after another, each ending on its own line. */
function concatenated(parts: ReadonlyArray<string | (() => Readable)>): Readable {
  return Readable.from(
    (async function* () {
      for (const part of parts) {
        if (typeof part === 'string') yield part;
        else for await (const chunk of part()) yield chunk as Buffer;
        yield '\n';
      }
    })(),
  );
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
    .map(
      ([name, , schema]) =>
        (schema ? `CREATE SCHEMA IF NOT EXISTS ${ident(schema)};\n` : '') +
        `CREATE EXTENSION IF NOT EXISTS ${ident(name!)}${schema ? ` WITH SCHEMA ${ident(schema)}` : ''};`,
    )
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
