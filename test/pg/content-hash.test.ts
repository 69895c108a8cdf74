import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashColumns, hashSettingsSql, legacyContentHash, tableFacts } from '../../src/engine/backup/content-hash.js';
import { openBackup } from '../../src/engine/folder/open.js';
import { writeChecksumList } from '../../src/engine/folder/seal.js';
import { sha256File } from '../../src/engine/folder/checksums.js';
import { parseConnectionUrl } from '../../src/engine/connection.js';
import type { Manifest } from '../../src/engine/folder/manifest.js';
import { RestoreVerifier, verifyRestore } from '../../src/engine/restore/verify-restore.js';
import { backupInto, restoreDumpInto, useTempDirs } from '../support/backups.js';
import { useTestDatabases, withPg } from '../support/databases.js';

// Content hashes (format column-hash-sum/1): computed by the server in one aggregate, the same
// at backup and at verification. They must not depend on row order, physical layout, the
// session's settings or catalog OIDs (enums), and must change with any value.

const dbs = useTestDatabases('hash');
const tempDir = useTempDirs();

// One column of every kind the hash treats apart: types hashed by their own function, arrays of
// them, domains, and types hashed through their text form (enum, json, composite, tsvector, …).
const TYPED = `
  CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
  CREATE DOMAIN posint AS int CHECK (VALUE > 0);
  CREATE TYPE pair AS (a int, b text, at timestamptz, x float8);
  CREATE TABLE typed (
    id int PRIMARY KEY, s smallint, b bigint, f bool, t text COLLATE "C", v varchar(20), c char(5), n name, u uuid,
    jb jsonb, j json, num numeric, r real, d double precision, ts timestamp, tz timestamptz, dt date, tm time,
    ttz timetz, iv interval, ip inet, cd cidr, by bytea, m mood, dom posint, p pair, ai int[], att text[],
    atz timestamptz[], am mood[], tv tsvector, rg int4range, mon money, pt point, "Odd ""Name"", S" text);
  INSERT INTO typed
  SELECT g, g, g::bigint * 1000000007, g % 2 = 0, 'text ' || g, 'v' || g, 'c' || (g % 10), 'n' || g, md5(g::text)::uuid,
         jsonb_build_object('k', g, 'f', g / 7.0), json_build_object('k', g, 'x', 1.5), g / 3.0, g / 7.0, g / 9.0,
         timestamp '2024-01-01' + g * interval '1 hour', timestamptz '2024-01-01 00:00+00' + g * interval '1 hour',
         date '2024-01-01' + g, time '10:00' + g * interval '1 minute', timetz '10:00+02', g * interval '1 day 2 hours',
         ('10.0.0.' || g)::inet, '10.1.0.0/16', decode(md5(g::text), 'hex'), (ARRAY['sad', 'ok', 'happy'])[1 + g % 3]::mood,
         g, ROW(g, 'p' || g, timestamptz '2024-01-01 00:00+00' + g * interval '1 hour', g / 7.0)::pair, ARRAY[g, g + 1], ARRAY['a' || g, NULL], ARRAY[timestamptz '2024-01-01 00:00+00' + g * interval '1 day'],
         ARRAY['ok', 'sad']::mood[], to_tsvector('simple', 'row number ' || g), int4range(g, g + 10), g * 1.25, point(g, g / 2.0), 'odd ' || g
    FROM generate_series(1, 40) g;
  INSERT INTO typed (id) VALUES (1000);
  INSERT INTO typed (id, tz, dt, ts) VALUES (1001, 'infinity', '-infinity', 'infinity');`;

/** A table's row count and hash as backup and verification compute them: `settings` first, then the pinned ones. */
async function facts(url: string, table: string, settings = '', pinned = true) {
  return withPg(url, async (c) => {
    await c.query(`${settings}; ${pinned ? hashSettingsSql(false) : ''}`);
    const oid = (await c.query<{ oid: number }>('SELECT $1::regclass::oid::int AS oid', [table])).rows[0]!.oid;
    const columns = (await hashColumns(c, [oid])).get(oid) ?? [];
    return tableFacts(c, { schema: 'public', table }, columns);
  });
}

describe('content hash', () => {
  // Read-only: tests that change a database's settings make their own.
  let source: { name: string; url: string };
  beforeAll(async () => {
    source = await dbs.create();
    await withPg(source.url, (c) => c.query(TYPED));
  });

  it('is the same after a dump and restore into a database with other OIDs and other session settings', async () => {
    const source = await dbs.create();
    await withPg(source.url, (c) => c.query(TYPED));
    // Different enum OIDs in the target, a different time zone and date style in each database.
    await withPg(source.url, (c) =>
      c.query(
        `ALTER DATABASE ${c.escapeIdentifier(source.name)} SET timezone = 'Asia/Tokyo'; ALTER DATABASE ${c.escapeIdentifier(source.name)} SET datestyle = 'SQL, DMY'`,
      ),
    );
    const target = await dbs.create();
    await withPg(target.url, (c) =>
      c.query(
        `CREATE TYPE filler AS ENUM ('x', 'y'); ALTER DATABASE ${c.escapeIdentifier(target.name)} SET intervalstyle = 'iso_8601'; ALTER DATABASE ${c.escapeIdentifier(target.name)} SET extra_float_digits = 0`,
      ),
    );
    const dir = (await backupInto(source.url, await tempDir())).backupDir;
    await restoreDumpInto(dir, target.url);
    const before = await facts(source.url, 'typed');
    expect(before.rows).toBe(42);
    expect(before.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(await facts(target.url, 'typed')).toEqual(before);
    const verification = await verifyRestore(await openBackup(dir), parseConnectionUrl(target.url, 'test'), { content: true });
    expect(verification).toMatchObject({ verified: true, contentChecked: true, contentMismatches: [] });
    expect(verification.tables.find((t) => t.table === 'typed')).toMatchObject({ actual: 42, ok: true, contentOk: true });
  });

  it('ignores row order and physical layout, and changes with any value, a swap, a duplicate or a NULL', async () => {
    const db = await dbs.create();
    await withPg(db.url, (c) =>
      c.query(`
      CREATE TABLE a (id int, name text, score numeric);
      CREATE TABLE b (score numeric, name text, id int);
      INSERT INTO a SELECT g, 'n' || g, g * 1.5 FROM generate_series(1, 500) g;
      INSERT INTO b (id, name, score) SELECT g, 'n' || g, g * 1.5 FROM generate_series(500, 1, -1) g;
      UPDATE b SET name = name WHERE id % 3 = 0;`),
    );
    const original = await facts(db.url, 'a');
    // Same rows, other insertion order, other column order, rows moved by an update: same hash.
    expect(await facts(db.url, 'b')).toEqual(original);
    const changed = async (sql: string, undo: string) => {
      await withPg(db.url, (c) => c.query(sql));
      const after = await facts(db.url, 'a');
      await withPg(db.url, (c) => c.query(undo));
      expect(await facts(db.url, 'a')).toEqual(original);
      return after.hash;
    };
    const hashes = [
      await changed(`UPDATE a SET score = 7.25 WHERE id = 10`, `UPDATE a SET score = 15.0 WHERE id = 10`),
      await changed(`UPDATE a SET name = CASE id WHEN 1 THEN 'n2' ELSE 'n1' END WHERE id IN (1, 2)`, `UPDATE a SET name = 'n' || id WHERE id IN (1, 2)`),
      await changed(`UPDATE a SET name = NULL WHERE id = 3`, `UPDATE a SET name = 'n3' WHERE id = 3`),
      await changed(`UPDATE a SET name = 'n4', score = 6.0 WHERE id = 5`, `UPDATE a SET name = 'n5', score = 7.5 WHERE id = 5`),
    ];
    for (const hash of hashes) expect(hash).not.toBe(original.hash);
    expect(new Set(hashes).size).toBe(hashes.length);
    // A duplicated row and a removed one: the count differs, and so does the hash.
    await withPg(db.url, (c) => c.query(`INSERT INTO a SELECT * FROM a WHERE id = 7; DELETE FROM a WHERE id = 8`));
    const duplicated = await facts(db.url, 'a');
    expect(duplicated.rows).toBe(500);
    expect(duplicated.hash).not.toBe(original.hash);
  });

  it('hashes the same whatever the session settings, as backup and verification pin the ones text forms depend on', async () => {
    const tokyo = `SET timezone = 'Asia/Tokyo'; SET datestyle = 'SQL, DMY'; SET extra_float_digits = 0; SET lc_monetary = 'C'`;
    const losAngeles = `SET timezone = 'America/Los_Angeles'; SET datestyle = 'Postgres, MDY'; SET extra_float_digits = -2; SET bytea_output = 'escape'`;
    // Unpinned, the text forms (the composite's timestamptz and float) differ: the settings matter…
    expect((await facts(source.url, 'typed', tokyo, false)).hash).not.toBe((await facts(source.url, 'typed', losAngeles, false)).hash);
    // … and pinned, they do not.
    expect(await facts(source.url, 'typed', tokyo)).toEqual(await facts(source.url, 'typed', losAngeles));
  });
});

describe('restore verification', () => {
  it('checks both formats of content_hashes.json, in parallel, and names every table whose content differs', async () => {
    const source = await dbs.create();
    await withPg(source.url, (c) =>
      c.query(`${TYPED}; CREATE TABLE other (id int PRIMARY KEY, v text); INSERT INTO other SELECT g, 'v' || g FROM generate_series(1, 1000) g;`),
    );
    const dir = (await backupInto(source.url, await tempDir())).backupDir;
    const target = await dbs.create();
    await restoreDumpInto(dir, target.url);
    const spec = parseConnectionUrl(target.url, 'test');
    const recorded = JSON.parse(await readFile(path.join(dir, 'content_hashes.json'), 'utf8')) as {
      algorithm: string;
      tables: Array<{ schema: string; table: string }>;
    };
    expect(recorded.algorithm).toBe('column-hash-sum/1');
    expect(recorded.tables.map((t) => t.table).sort()).toEqual(['other', 'typed']);
    expect(await verifyRestore(await openBackup(dir), spec, { content: true, jobs: 3 })).toMatchObject({ verified: true, contentChecked: true });

    // The format written before "algorithm" existed: md5 of sorted row hashes, 32 hex digits.
    const legacy = await withPg(source.url, async (c) => ({
      tables: await Promise.all(recorded.tables.map(async (t) => ({ schema: t.schema, table: t.table, hash: await legacyContentHash(c, t) }))),
    }));
    expect(legacy.tables[0]!.hash).toMatch(/^[0-9a-f]{32}$/);
    const legacyDir = path.join(await tempDir(), path.basename(dir));
    await cp(dir, legacyDir, { recursive: true });
    await writeFile(path.join(legacyDir, 'content_hashes.json'), JSON.stringify(legacy));
    const manifest = JSON.parse(await readFile(path.join(legacyDir, 'metadata.json'), 'utf8')) as Manifest;
    manifest.files['content_hashes.json'] = await sha256File(path.join(legacyDir, 'content_hashes.json'));
    await writeFile(path.join(legacyDir, 'metadata.json'), JSON.stringify(manifest));
    await writeChecksumList(legacyDir, manifest.files);
    expect(await verifyRestore(await openBackup(legacyDir), spec, { content: true })).toMatchObject({ verified: true, contentChecked: true });

    // One changed value in one table: both formats name that table and only it; counts still match.
    await withPg(target.url, (c) => c.query(`UPDATE other SET v = 'changed' WHERE id = 500`));
    for (const folder of [dir, legacyDir]) {
      const verification = await verifyRestore(await openBackup(folder), spec, { content: true });
      expect(verification).toMatchObject({ verified: false, mismatches: [], contentMismatches: ['public.other'] });
      expect(verification.tables.find((t) => t.table === 'typed')?.contentOk).toBe(true);
    }
    // A table the target keeps as its own is neither counted against it nor compared.
    expect(await verifyRestore(await openBackup(dir), spec, { content: true, keptByTarget: ['public.other'] })).toMatchObject({
      verified: true,
      contentMismatches: [],
    });
    // Counts only: a changed value goes unseen, a missing row does not.
    await withPg(target.url, (c) => c.query(`DELETE FROM other WHERE id = 1`));
    const counts = await verifyRestore(await openBackup(dir), spec, { content: false });
    expect(counts).toMatchObject({ verified: false, contentChecked: false, contentMismatches: [] });
    expect(counts.mismatches).toEqual([expect.objectContaining({ table: 'other', expected: 1000, actual: 999 })]);
  });

  it('a table checked as its rows load (checkLoaded, on the loading connection) is not checked again, and a difference found then is named', async () => {
    const source = await dbs.create();
    await withPg(source.url, (c) =>
      c.query(`CREATE TABLE one (id int PRIMARY KEY, v text); CREATE TABLE two (id int PRIMARY KEY, v text);
               INSERT INTO one SELECT g, 'v' || g FROM generate_series(1, 300) g; INSERT INTO two SELECT g, 'w' || g FROM generate_series(1, 200) g;`),
    );
    const dir = (await backupInto(source.url, await tempDir())).backupDir;
    const target = await dbs.create();
    await restoreDumpInto(dir, target.url);
    const spec = parseConnectionUrl(target.url, 'test');
    const handle = await openBackup(dir);

    // Checked while equal, changed afterwards: the early result stands (nothing after a load writes rows).
    const early = await RestoreVerifier.open(handle, { content: true });
    await withPg(target.url, (c) => early.checkLoaded(c, { schema: 'public', table: 'one' }));
    await withPg(target.url, (c) => c.query(`UPDATE one SET v = 'late' WHERE id = 1`));
    const kept = await early.finish(spec);
    expect(kept).toMatchObject({ verified: true, contentChecked: true, contentMismatches: [] });
    expect(kept.tables.find((t) => t.table === 'one')).toMatchObject({ expected: 300, actual: 300, contentOk: true });

    // Changed before the check: named as a mismatch, the other table checked at the end as usual.
    const caught = await RestoreVerifier.open(handle, { content: true });
    await withPg(target.url, (c) => caught.checkLoaded(c, { schema: 'public', table: 'one' }));
    await withPg(target.url, (c) => c.query(`DELETE FROM two WHERE id = 200`));
    const result = await caught.finish(spec);
    expect(result).toMatchObject({ verified: false, contentMismatches: ['public.one', 'public.two'] });
    expect(result.mismatches).toEqual([expect.objectContaining({ table: 'two', expected: 200, actual: 199 })]);
    // The loading connection is left as it was: no transaction open, the session's own settings kept.
    await withPg(target.url, async (c) => {
      await c.query(`SET TimeZone = 'Asia/Tokyo'`);
      await caught.checkLoaded(c, { schema: 'public', table: 'two' });
      expect((await c.query<{ tz: string; tx: string }>(`SELECT current_setting('TimeZone') AS tz, txid_current_if_assigned()::text AS tx`)).rows[0]).toEqual({
        tz: 'Asia/Tokyo',
        tx: null,
      });
    });
  });

  it('tables pg_restore has filled are checked on a connection of their own while the restore goes on (checkRestored); finish waits for them, and a stopped check leaves them to the end', async () => {
    const source = await dbs.create();
    await withPg(source.url, (c) =>
      c.query(`CREATE TABLE one (id int PRIMARY KEY, v text); CREATE TABLE two (id int PRIMARY KEY, v text);
               INSERT INTO one SELECT g, 'v' || g FROM generate_series(1, 300) g; INSERT INTO two SELECT g, 'w' || g FROM generate_series(1, 200) g;`),
    );
    const dir = (await backupInto(source.url, await tempDir())).backupDir;
    const target = await dbs.create();
    await restoreDumpInto(dir, target.url);
    const spec = parseConnectionUrl(target.url, 'test');
    const handle = await openBackup(dir);
    const sessions = async () =>
      Number(
        (
          await withPg(target.url, (c) =>
            c.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`),
          )
        ).rows[0]!.n,
      );

    // Started and not awaited: finish() takes its results (the change made after it is unseen,
    // as nothing after pg_restore's run writes rows), and its connection is gone.
    const running = await RestoreVerifier.open(handle, { content: true });
    const checking = running.checkRestored(
      spec,
      [
        { schema: 'public', table: 'one' },
        { schema: 'public', table: 'not_in_backup' },
      ],
      new AbortController().signal,
    );
    await checking;
    await withPg(target.url, (c) => c.query(`UPDATE one SET v = 'late' WHERE id = 1`));
    const seen = await running.finish(spec);
    expect(seen).toMatchObject({ verified: true, contentChecked: true, contentMismatches: [] });
    expect(await sessions()).toBe(0);

    // Stopped before it ran: nothing checked early, so the end checks the table and sees the change.
    const stopped = await RestoreVerifier.open(handle, { content: true });
    const stop = new AbortController();
    stop.abort();
    await stopped.checkRestored(spec, [{ schema: 'public', table: 'one' }], stop.signal);
    expect(await stopped.finish(spec)).toMatchObject({ verified: false, contentMismatches: ['public.one'] });

    // Wrapped up before it ran: no table started, the end checks it (and sees the change).
    const wrapped = await RestoreVerifier.open(handle, { content: true });
    const done = new AbortController();
    done.abort();
    await wrapped.checkRestored(spec, [{ schema: 'public', table: 'one' }], new AbortController().signal, done.signal);
    expect(await wrapped.finish(spec)).toMatchObject({ verified: false, contentMismatches: ['public.one'] });

    // A difference there when it runs is named; finish() waits for a check still under way.
    await withPg(target.url, (c) => c.query(`DELETE FROM two WHERE id = 1`));
    const caught = await RestoreVerifier.open(handle, { content: true });
    void caught.checkRestored(spec, [{ schema: 'public', table: 'two' }], new AbortController().signal);
    const result = await caught.finish(spec);
    expect(result.mismatches).toEqual([expect.objectContaining({ table: 'two', expected: 200, actual: 199 })]);
    expect(await sessions()).toBe(0);
  });
});
