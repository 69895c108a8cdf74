import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { authUsersSql } from '../../src/engine/backup/auth-users-sql.js';
import { classifyObjects } from '../../src/engine/backup/object-origins.js';
import {
  countRows,
  listExtensions,
  listForeignKeys,
  listInheritance,
  listPublications,
  listSchemas,
  listTables,
  listViewReloptions,
  referencedRoles,
  serverInfo,
} from '../../src/engine/pg/catalog.js';
import { resetDefaultPrivilegesSql } from '../../src/engine/restore/reset-default-privileges.js';
import { parseConnectionUrl } from '../../src/engine/connection.js';
import { runTool } from '../../src/engine/tools/pg-tools.js';
import { parseToc } from '../../src/engine/tools/dump-toc.js';
import { useTempDirs } from '../support/backups.js';
import { PROJECT_ROOT, useTestDatabases, withPg } from '../support/databases.js';

// Every catalog read of the engine, on the catalog-torture fixture: each returns what its type
// says — arrays as arrays (pg hands name[] and other catalog array types back as one string
// unless the query makes them text[]), numbers as numbers — for names that need quoting too.

const dbs = useTestDatabases('catalog');
const tempDir = useTempDirs();
let url: string;

beforeAll(async () => {
  url = (await dbs.create({ load: [path.join(PROJECT_ROOT, 'test/fixtures/torture.sql')] })).url;
});

const isStringArray = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');

describe('catalog reads on the torture fixture', () => {
  it('schemas, tables, foreign keys and inheritance', async () => {
    await withPg(url, async (c) => {
      const schemas = await listSchemas(c);
      expect(isStringArray(schemas)).toBe(true);
      expect(schemas.some((s) => s !== s.toLowerCase() || /[^a-z0-9_]/.test(s))).toBe(true);
      const tables = await listTables(c);
      expect(tables.length).toBeGreaterThan(30);
      for (const t of tables)
        expect(t).toEqual({ oid: expect.any(Number), schema: expect.any(String), table: expect.any(String), kind: expect.stringMatching(/^[rp]$/) });
      expect(tables.some((t) => Buffer.byteLength(t.table) === 63)).toBe(true);
      const fks = await listForeignKeys(c);
      expect(fks.length).toBeGreaterThan(3);
      for (const fk of fks)
        expect(fk).toEqual({ child: expect.any(Number), parent: expect.any(Number), deferrable: expect.any(Boolean), name: expect.any(String) });
      const inheritance = await listInheritance(c);
      // Partitions two levels deep: some child is itself a parent.
      expect(inheritance.some((e) => inheritance.some((f) => f.parent === e.child))).toBe(true);
      const partitioned = tables.find((t) => t.kind === 'p')!;
      expect(await countRows(c, partitioned)).toBe(0);
      expect(await countRows(c, partitioned, true)).toBeGreaterThan(0);
    });
  });

  it('publications: column lists, row filters, schemas and comments as the right types', async () => {
    await withPg(url, async (c) => {
      const { publications, members } = await listPublications(c);
      expect(publications.length).toBeGreaterThan(2);
      for (const p of publications) {
        expect(isStringArray(p.schemas)).toBe(true);
        expect(typeof p.owner).toBe('string');
      }
      expect(publications.some((p) => p.allTables)).toBe(true);
      expect(publications.some((p) => p.schemas.length > 0)).toBe(true);
      expect(publications.some((p) => typeof p.comment === 'string')).toBe(true);
      const withColumns = members.filter((m) => m.columns !== null);
      expect(withColumns.length).toBeGreaterThan(0);
      for (const m of withColumns) expect(isStringArray(m.columns)).toBe(true);
      expect(members.some((m) => typeof m.rowFilter === 'string')).toBe(true);
    });
  });

  it('server, extensions, view options, roles, auth users', async () => {
    await withPg(url, async (c) => {
      expect(await serverInfo(c)).toEqual({ versionNum: expect.any(Number), version: expect.stringMatching(/^PostgreSQL/), databaseBytes: expect.any(Number) });
      const extensions = await listExtensions(c);
      expect(extensions.some((e) => e.schema !== 'public')).toBe(true);
      for (const e of extensions)
        expect(e).toEqual({ name: expect.any(String), version: expect.any(String), schema: expect.any(String), owner: expect.any(String) });
      const views = await listViewReloptions(c);
      expect(views.some((v) => v.options.includes('security_invoker'))).toBe(true);
      const roles = await referencedRoles(c, await listSchemas(c));
      expect(isStringArray(roles)).toBe(true);
      expect(roles.some((r) => /[ "']/.test(r))).toBe(true);
      const users = await authUsersSql(c);
      expect(users === undefined || typeof users.sql === 'string').toBe(true);
    });
  });

  it('who owns each dump entry, and the default-privileges reset, on this catalog', async () => {
    const dir = path.join(await tempDir(), 'dump');
    const connection = parseConnectionUrl(url, 'test');
    await runTool('pg_dump', ['--format=directory', `--file=${dir}`, '--no-publications'], { connection });
    const toc = parseToc((await runTool('pg_restore', ['--list', dir])).stdout);
    await withPg(url, async (c) => {
      const objects = await classifyObjects(c, toc, ['supabase_admin', 'supabase_*_admin']);
      expect(objects.entries.map((e) => e.id)).toEqual(toc.map((e) => e.id));
      for (const e of objects.entries.filter((x) => x.address !== null)) {
        expect(isStringArray(e.address!.names)).toBe(true);
        expect(isStringArray(e.address!.args)).toBe(true);
      }
      expect(objects.entries.some((e) => e.origin === 'extension')).toBe(true);
      expect(objects.entries.filter((e) => e.kind === 'FK CONSTRAINT').every((e) => e.references !== null)).toBe(true);
      // The reset runs on this catalog (hostile role names, database-wide and per-schema defaults) without error.
      await c.query('BEGIN');
      await c.query(resetDefaultPrivilegesSql(await listSchemas(c), ['supabase_admin', 'supabase_*_admin']));
      await c.query('ROLLBACK');
    });
  });
});
