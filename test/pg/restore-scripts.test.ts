import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { libpqEnv, parseConnectionUrl } from '../../src/engine/connection.js';
import { withClient } from '../../src/engine/pg/client.js';
import { useTempDirs } from '../support/backups.js';
import { runCli } from '../support/cli.js';
import { FIXTURE, PROJECT_ROOT, databaseUrl, psqlFile, useTestDatabases, withPg } from '../support/databases.js';

// The scripts written into a backup run on someone's machine later, from wherever the folder
// was copied to. Every outside value in them (the source database's name, the backup's path,
// the project path) is made hostile here; running the scripts must execute none of it.

const dbs = useTestDatabases('scripts');
const tempDir = useTempDirs();

// Each payload would create a file named pwned-* in the directory the script runs in.
const MARKER = /^pwned-/;
// 63 bytes at most: PostgreSQL would cut a longer name.
const hostileName = `dbops_t_h${randomBytes(3).toString('hex')}\n$(touch pwned-1)\`touch pwned-2\`'";touch pwned-3`;
const hostileDir = `it's "q" $(touch pwned-4)\n\`touch pwned-5\` ;touch pwned-6 #`;

let work: string;
let root: string;
let backupDir: string;
let source: string;

/** Rows per table, over a connection built from the parsed URL (pg's own URL parser would not decode the hostile name). */
async function rowCounts(url: string): Promise<Record<string, number>> {
  return withClient(parseConnectionUrl(url, 'test'), async (c) => {
    const tables = await c.query<{ name: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'realtime', 'supabase_functions', 'code_ops') ORDER BY 1`,
    );
    const counts: Record<string, number> = {};
    for (const t of tables.rows) counts[t.name] = Number((await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${t.name}`)).rows[0]?.n);
    return counts;
  });
}

async function markersIn(...dirs: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const dir of dirs) found.push(...(await readdir(dir)).filter((f) => MARKER.test(f)).map((f) => path.join(dir, f)));
  return found;
}

beforeAll(async () => {
  await withPg(dbs.adminUrl, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(hostileName)}`));
  source = databaseUrl(dbs.adminUrl, hostileName);
  await psqlFile(source, FIXTURE);
  work = await tempDir();
  // The project, reached through a hostile path: restore-full.sh cds there and runs npx dbops.
  const parent = path.join(work, hostileDir);
  await mkdir(parent);
  root = path.join(parent, 'dbops');
  await symlink(PROJECT_ROOT, root);
  const out = path.join(work, `backups ${hostileDir}`);
  const run = await runCli(['backup-db', '--url', source, '--out', out, '--json'], { env: { DBOPS_ROOT: root }, cwd: work });
  expect(run.stderr).toBe('');
  expect(run.exitCode).toBe(0);
  backupDir = (JSON.parse(run.stdout) as { backupDir: string }).backupDir;
});

afterAll(async () => {
  await withPg(dbs.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(hostileName)} WITH (FORCE)`));
});

describe('generated scripts with a hostile database name and hostile paths', () => {
  it('keep every outside value inside single quotes', async () => {
    const script = await readFile(path.join(backupDir, 'restore.sh'), 'utf8');
    // The name's newline stays inside the quoted assignment, its quote closed and reopened.
    expect(script).toContain(`backup_source='url (127.0.0.1:`);
    expect(script).toMatch(/backup_source='[^']*\n\$\(touch pwned-1\)`touch pwned-2`'\\''";touch pwned-3\)'\n/);
    const full = await readFile(path.join(backupDir, 'restore-full.sh'), 'utf8');
    expect(full).toContain(`made_by='${root.replace(/'/g, `'\\''`)}'`);
    expect(full).toContain('cd "${DBOPS_HOME:-$made_by}"');
  });

  it('restore.sh --help prints the backup it holds and runs nothing', async () => {
    const run = await execa(path.join(backupDir, 'restore.sh'), ['--help'], { cwd: work, reject: false, stdin: 'ignore' });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^Restores backup \S+ \(taken \S+ from \$'url \(127\.0\.0\.1:.*\\n\$\(touch pwned-1\)/);
    expect(run.stdout).toContain('Usage: PGHOST=');
    expect(await markersIn(work, backupDir, PROJECT_ROOT)).toEqual([]);
  });

  it('restore-full.sh --help reaches dbops through the hostile project path and runs nothing', async () => {
    const run = await execa(path.join(backupDir, 'restore-full.sh'), ['--help'], { cwd: work, reject: false, stdin: 'ignore' });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^dbops restore-db — Restore a dbops backup/);
    expect(await markersIn(work, backupDir, PROJECT_ROOT, path.dirname(root))).toEqual([]);
  });

  it('restore-full.sh honours DBOPS_HOME', async () => {
    const run = await execa(path.join(backupDir, 'restore-full.sh'), ['--help'], {
      cwd: work,
      reject: false,
      stdin: 'ignore',
      env: { DBOPS_HOME: PROJECT_ROOT },
    });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^dbops restore-db — Restore a dbops backup/);
  });

  it('restore.sh restores the backup from its hostile folder with PG* variables alone', async () => {
    const target = await dbs.create();
    const env = { ...libpqEnv(parseConnectionUrl(target.url, 'test')), PATH: process.env.PATH ?? '' };
    const run = await execa(path.join(backupDir, 'restore.sh'), ['--yes'], { cwd: work, env, extendEnv: false, reject: false, stdin: 'ignore' });
    // The only thing a test server may say: wal_level is too low for logical replication.
    expect(run.stderr.replace(/^.*(wal_level|Set wal_level).*$/gm, '').trim()).toBe('');
    expect(run.exitCode).toBe(0);
    expect(await rowCounts(target.url)).toEqual(await rowCounts(source));
    expect(await markersIn(work, backupDir)).toEqual([]);
  });
});
