import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/engine/config.js';
import { PROJECT_ROOT } from '../support/databases.js';
import { dumpArgs, exactPattern } from '../../src/engine/backup/dump.js';
import { normaliseSql } from '../../src/engine/backup/normalise-sql.js';
import { membershipsIn, parseRoleDump, readIdentifier, rolesSql } from '../../src/engine/backup/roles-sql.js';
import { chooseCategories, matchesPattern, selectTables } from '../../src/engine/backup/selection.js';
import { backupFolderName, backupPaths } from '../../src/engine/folder/layout.js';

// The project's shipped config: it defines the app categories (core, org_data, transient).
const config = loadConfig(PROJECT_ROOT, {}).config;

describe('category selection', () => {
  it('--prod leaves out exactly what --no-transient --no-org-data leaves out', () => {
    expect(chooseCategories(config, { prod: true, exclude: [] })).toEqual(chooseCategories(config, { prod: false, exclude: ['transient', 'org_data'] }));
  });
  it('refuses to leave out core', () => {
    expect(() => chooseCategories(config, { prod: false, exclude: ['core'] })).toThrow('Category "core" cannot be left out');
  });
  it('matches schema.table globs exactly, case and all', () => {
    expect(matchesPattern('public.rbac_*', { schema: 'public', table: 'rbac_roles' })).toBe(true);
    expect(matchesPattern('public.rbac_*', { schema: 'public', table: 'RBAC_roles' })).toBe(false);
    expect(matchesPattern('auth.*', { schema: 'authx', table: 'users' })).toBe(false);
    expect(matchesPattern('a.b+c', { schema: 'a', table: 'bbc' })).toBe(false);
  });
});

describe('pg_dump arguments', () => {
  it('quotes names so pattern characters in them stay literal', () => {
    expect(exactPattern('My "odd" *name')).toBe('"My ""odd"" *name"');
    const args = dumpArgs({
      dir: '/b/dump',
      snapshot: '00000003-1',
      jobs: 2,
      compression: 1,
      excludedSchemas: ['auth'],
      excludedDataTables: [{ schema: 'public', table: 'tasks' }],
    });
    expect(args).toEqual(
      expect.arrayContaining([
        '--format=directory',
        '--snapshot=00000003-1',
        '--exclude-schema="auth"',
        '--exclude-table-data="public"."tasks"',
        '--no-publications',
      ]),
    );
  });
});

describe('normalising plain SQL', () => {
  it('drops \\restrict and \\unrestrict lines and nothing else', () => {
    const sql = "--\n\\restrict AbC123\nSET x = 1;\nSELECT '\\restrict';\n\\unrestrict AbC123\n";
    expect(normaliseSql(sql)).toBe("--\nSET x = 1;\nSELECT '\\restrict';\n");
  });
});

describe('roles.sql from pg_dumpall', () => {
  const dump = [
    'CREATE ROLE anon;',
    'ALTER ROLE anon WITH NOSUPERUSER INHERIT NOLOGIN;',
    'CREATE ROLE "Report ""Writer""";',
    'ALTER ROLE "Report ""Writer""" WITH NOSUPERUSER INHERIT LOGIN;',
    'CREATE ROLE supabase_admin;',
    'GRANT "Report ""Writer""" TO authenticated GRANTED BY postgres;',
  ].join('\n');

  it('reads quoted identifiers the way pg_dumpall writes them', () => {
    expect(readIdentifier('CREATE ROLE "a ""b"" c";', 12)).toEqual({ name: 'a "b" c', end: 23 });
    expect(parseRoleDump(dump).memberships).toEqual([
      { role: 'Report "Writer"', member: 'authenticated', statement: 'GRANT "Report ""Writer""" TO authenticated;' },
    ]);
  });

  it('creates a missing needed role NOLOGIN with no other attribute, never alters one, grants memberships only among roles it created', () => {
    const withSuper = `${dump}\nCREATE ROLE admins;\nALTER ROLE admins WITH SUPERUSER CREATEROLE NOLOGIN BYPASSRLS;\nGRANT admins TO "Report ""Writer""" GRANTED BY postgres;`;
    const { sql, roles } = rolesSql(withSuper, ['anon', 'Report "Writer"', 'supabase_admin', 'admins'], config.reserved_roles);
    expect(roles).toEqual(['Report "Writer"', 'admins']);
    expect(sql).toContain(`IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'Report "Writer"') THEN`);
    expect(sql).toContain('CREATE ROLE "Report ""Writer""" NOLOGIN;');
    expect(sql).not.toMatch(/ALTER ROLE|SUPERUSER|CREATEROLE|BYPASSRLS| LOGIN/);
    expect(sql).not.toMatch(/CREATE ROLE (anon|supabase_admin)/);
    // Granted only when both were created by this file: authenticated exists, so that one is left out.
    expect(sql).not.toContain('TO authenticated');
    expect(sql).toContain(
      `IF pg_catalog.current_setting('dbops.created_roles')::jsonb ? 'admins' AND pg_catalog.current_setting('dbops.created_roles')::jsonb ? 'Report "Writer"' THEN`,
    );
    expect(membershipsIn(sql)).toEqual([{ role: 'admins', member: 'Report "Writer"', admin: false }]);
  });

  it('reads names holding newlines and semicolons (pg_dumpall writes them inside their quotes)', () => {
    const name = 'a\nb; "c"';
    const quoted = '"a\nb; ""c"""';
    const withNewline = `--\n-- Roles\n--\n\nCREATE ROLE ${quoted};\nALTER ROLE ${quoted} WITH NOSUPERUSER;\nCREATE ROLE g;\nGRANT g TO ${quoted} GRANTED BY postgres;\n`;
    const { sql, roles } = rolesSql(withNewline, [name, 'g'], []);
    expect(roles).toEqual([name, 'g']);
    expect(membershipsIn(sql)).toEqual([{ role: 'g', member: name, admin: false }]);
  });

  it('picks a dollar-quote tag no role name contains', () => {
    const { sql } = rolesSql('CREATE ROLE "x$dbops$y";', ['x$dbops$y'], []);
    expect(sql).toContain('DO $dbops1$');
  });
});

describe('backup paths', () => {
  it('names folders by UTC time, target and label, and file names stay safe', () => {
    expect(backupFolderName(new Date('2026-11-23T07:15:02.123Z'), 'prod', 'pre-upgrade')).toBe('20261123_071502_prod_pre-upgrade');
    expect(backupPaths('/b').csv('rag_data', 'Mixed Case "Q"/x')).toBe('/b/data/rag_data.Mixed%20Case%20%22Q%22%2Fx.csv.gz');
  });
});

describe('data left out of partitions and inheritance children', () => {
  const table = (oid: number, schema: string, name: string, kind: 'r' | 'p' = 'r') => ({ oid, schema, table: name, kind });
  it('follows a left-out table down to every partition, at any depth, and names the category', () => {
    const tables = [
      table(1, 'public', 'observability_events', 'p'),
      table(2, 'public', 'observability_events_2026', 'p'),
      table(3, 'public', 'observability_events_2026_q1'),
      table(4, 'public', 'events_archive'),
      table(5, 'public', 'organizations'),
    ];
    const inheritance = [
      { parent: 1, child: 2 },
      { parent: 2, child: 3 },
      { parent: 1, child: 4 },
    ];
    const selection = selectTables(config, { prod: false, exclude: ['transient'] }, ['public'], tables, inheritance);
    expect(selection.excludedDataTables.map((t) => [t.table, t.category]).sort()).toEqual([
      ['events_archive', 'transient'],
      ['observability_events', 'transient'],
      ['observability_events_2026', 'transient'],
      ['observability_events_2026_q1', 'transient'],
    ]);
    expect(selectTables(config, { prod: false, exclude: [] }, ['public'], tables, inheritance).excludedDataTables).toEqual([]);
  });
});
