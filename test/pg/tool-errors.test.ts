import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConnectionUrl } from '../../src/engine/connection.js';
import { toDbopsError } from '../../src/engine/errors.js';
import { dbnameArg, runTool } from '../../src/engine/tools/pg-tools.js';
import { useTempDirs } from '../support/backups.js';
import { DBOPS_BIN, withoutProgress } from '../support/cli.js';
import { PROJECT_ROOT, useTestDatabases, withPg } from '../support/databases.js';

// A failing tool's error names the cause: the first line that says why (not the "worker process
// died" that follows it), DISK_FULL for a full disk, with the whole stderr in the details.

const dbs = useTestDatabases('toolerr');
const tempDir = useTempDirs();
let source: { name: string; url: string };

beforeAll(async () => {
  source = await dbs.create();
  // About 6 MB of dump that gzip cannot shrink much: more than the 2 MB disk below.
  await withPg(source.url, (c) =>
    c.query(`CREATE TABLE t (id int PRIMARY KEY, a text);
             INSERT INTO t SELECT g, md5(g::text) || md5((g * 7)::text) || md5(random()::text) FROM generate_series(1, 100000) g;
             CREATE TABLE u (id int); INSERT INTO u SELECT generate_series(1, 1000);`),
  );
});

describe('the first real error line', () => {
  it('a parallel pg_restore whose worker fails names the worker\'s error, not "a worker process died"', async () => {
    const dump = path.join(await tempDir(), 'dump');
    const spec = parseConnectionUrl(source.url, 'test');
    await runTool('pg_dump', ['--format=directory', '--jobs=2', `--file=${dump}`], { connection: spec });
    const target = await dbs.create();
    await withPg(target.url, (c) => c.query('CREATE TABLE t (id int CHECK (id < 3), a text); CREATE TABLE u (id int)'));
    const targetSpec = parseConnectionUrl(target.url, 'test');
    const error = await runTool('pg_restore', ['--data-only', '--jobs=2', '--exit-on-error', dbnameArg(targetSpec.database), dump], {
      connection: targetSpec,
    }).then(
      () => undefined,
      (e: unknown) => toDbopsError(e),
    );
    expect(error?.code).toBe('TOOL_FAILED');
    expect(error?.message).toBe('pg_restore failed: COPY failed for table "t": ERROR: new row for relation "t" violates check constraint "t_id_check"');
    expect(error?.details).toContain('pg_restore: error: a worker process died unexpectedly');
    expect(error?.details.some((l) => l.startsWith('DETAIL:  Failing row contains (3,'))).toBe(true);
  });
});

describe('a full disk', () => {
  /**
   * The CLI with its --out on a 2 MB tmpfs, mounted in a mount namespace of its own (as root, or
   * as a user namespace's root otherwise), so nothing is left mounted whatever happens.
   */
  async function backupOntoSmallDisk(json: boolean) {
    const disk = await tempDir();
    const left = path.join(await tempDir(), 'left');
    const unshare = process.getuid?.() === 0 ? ['-m'] : ['-Urm'];
    const script = 'mount -t tmpfs -o size=2m tmpfs "$1" || exit 99; shift; dir="$1"; shift; "$@"; rc=$?; ls -A "$dir" > "$LEFT"; exit $rc';
    const args = ['backup-db', '--url', source.url, '--out', disk, ...(json ? ['--json'] : [])];
    const run = await execa('unshare', [...unshare, 'sh', '-c', script, 'sh', disk, disk, process.execPath, DBOPS_BIN, ...args], {
      cwd: PROJECT_ROOT,
      reject: false,
      stdin: 'ignore',
      env: { LEFT: left, DATABASE_URL: '', DBOPS_EVENTS_URL: '', DBOPS_SPOOL_DIR: await tempDir() },
    });
    expect(run.exitCode, `${run.stderr}`).not.toBe(99);
    return { run, left: (await readFile(left, 'utf8')).trim() };
  }

  it("is DISK_FULL with the tool's own line and a hint, and leaves no half backup", async () => {
    const { run, left } = await backupOntoSmallDisk(false);
    expect(run.exitCode).toBe(1);
    expect(withoutProgress(String(run.stderr))).toBe(
      "error [DISK_FULL]: pg_dump: could not write to output file: No space left on device Hint: Free space on that disk and rerun (df -h shows it): the backups folder for a backup, the database server's disk for a restore.",
    );
    expect(left).toBe('');
  });

  it('--json carries the whole stderr in details', async () => {
    const { run } = await backupOntoSmallDisk(true);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; details: string[] } };
    expect(error.code).toBe('DISK_FULL');
    expect(error.details).toContain('pg_dump: error: could not write to output file: No space left on device');
    expect(error.details.some((l) => l.startsWith('pg_dump: dumping contents of table'))).toBe(true);
  });

  it("a write of dbops's own into a full device is DISK_FULL, not a bug", async () => {
    const error = await writeFile('/dev/full', 'x').then(
      () => undefined,
      (e: unknown) => toDbopsError(e),
    );
    expect(error).toMatchObject({ code: 'DISK_FULL', message: 'No space left on device.' });
  });

  it('a tool whose output goes to a full device is DISK_FULL too', async () => {
    const error = await runTool('pg_dump', ['--schema-only'], { connection: parseConnectionUrl(source.url, 'test'), stdoutFile: '/dev/full' }).then(
      () => undefined,
      (e: unknown) => toDbopsError(e),
    );
    expect(error?.code).toBe('DISK_FULL');
    expect(error?.message).toBe('pg_dump: no space left on device writing its output to /dev/full.');
  });
});
