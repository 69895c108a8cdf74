import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { backupInto, useTempDirs } from '../support/backups.js';
import { runCli } from '../support/cli.js';
import { FIXTURE, useTestDatabases, withPg } from '../support/databases.js';
import { fingerprint } from '../support/fingerprint.js';

const dbs = useTestDatabases('restorecli');
const tempDir = useTempDirs();
let source: { name: string; url: string };
let backupDir: string;

beforeAll(async () => {
  source = await dbs.create({ load: [FIXTURE] });
  backupDir = (await backupInto(source.url, await tempDir(), { exclude: ['transient'] })).backupDir;
});

/**
 * A PG_BIN_DIR whose pg_restore, the first time it is asked to --clean, restores everything but
 * the data of the public tables (so some tables hold the backup's rows, public ones none, and
 * foreign keys into them fail) and then dies by SIGKILL: a restore that fails part-way, leaving
 * the target between states. Every other call runs the real tools.
 */
async function binDirKillingFirstRestore(): Promise<string> {
  const dir = await tempDir();
  for (const tool of ['pg_dump', 'pg_dumpall', 'psql', 'pg_restore']) {
    const real = (await execa('sh', ['-c', `command -v ${tool}`])).stdout.trim();
    const body =
      tool === 'pg_restore'
        ? `case " $* " in *" --clean "*)
  if [ ! -e "${dir}/killed-once" ]; then
    touch "${dir}/killed-once"
    for last in "$@"; do :; done
    "${real}" --list "$last" | grep -v " TABLE DATA public " > "${dir}/partial.list"
    "${real}" --use-list "${dir}/partial.list" "$@" || true
    kill -9 $$
  fi;;
esac
exec "${real}" "$@"`
        : `exec "${real}" "$@"`;
    await writeFile(path.join(dir, tool), `#!/bin/sh\n${body}\n`);
    await chmod(path.join(dir, tool), 0o755);
  }
  return dir;
}

describe('dbops restore-db (CLI)', () => {
  it('restores with --yes, prints one JSON object with verified, backupDir, target and per-table counts', async () => {
    const target = await dbs.create();
    const run = await runCli(['restore-db', backupDir, '--url', target.url, '--yes', '--json'], { env: { DBOPS_BACKUP_DIR: await tempDir() } });
    expect(run.exitCode).toBe(0);
    const json = JSON.parse(run.stdout) as {
      verified: boolean;
      backupDir: string;
      target: { database: string };
      verification: { tables: Array<{ schema: string; table: string; actual: number }> };
    };
    expect(json).toMatchObject({ ok: true, verified: true, backupDir, target: { database: target.name } });
    const tables = json.verification.tables;
    expect(tables.find((t) => t.table === 'agents')).toMatchObject({ actual: 12, expected: 12, ok: true });
    expect(tables.find((t) => t.table === 'tasks')).toMatchObject({ actual: 0, dataIncluded: false, ok: true });
  });

  it('without a terminal and without --yes refuses with exit 2 and one line, after showing the plan', async () => {
    const target = await dbs.create();
    const run = await runCli(['restore-db', backupDir, '--url', target.url], { env: { DBOPS_BACKUP_DIR: await tempDir() } });
    expect(run.exitCode).toBe(2);
    const lines = run.stderr.split('\n');
    expect(lines[0]).toBe('⚠️  This restore OVERWRITES data.');
    expect(lines.at(-1)).toMatch(
      /^error \[CONFIRMATION_REQUIRED\]: Restoring .* overwrites database "dbops_t_restorecli_\w+" on 127\.0\.0\.1; no terminal to ask, so --yes is required\. Hint: /,
    );
  });

  it('a pg_restore killed part-way ends with the target as it was, from the safety snapshot', async () => {
    const target = await dbs.create({ load: [FIXTURE] });
    await withPg(target.url, (c) => c.query(`UPDATE public.agents SET name = 'before the restore'; DELETE FROM law.contracts WHERE id > 3`));
    const before = await fingerprint(target.url);
    const backups = await tempDir();
    const wrappers = await binDirKillingFirstRestore();
    const run = await runCli(['restore-db', backupDir, '--url', target.url, '--yes', '--json'], {
      env: { DBOPS_BACKUP_DIR: backups, PG_BIN_DIR: wrappers },
    });
    expect(run.exitCode).toBe(1);
    const error = (JSON.parse(run.stdout) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('RESTORE_FAILED');
    expect(error.message).toMatch(
      /^The restore failed \(pg_restore was killed by SIGKILL\.\); the target was put back from the pre-restore snapshot \d{8}_\d{6}_url_pre-restore\.$/,
    );
    expect(await fingerprint(target.url)).toEqual(before);
    expect(await readFile(path.join(wrappers, 'partial.list'), 'utf8')).toMatch(/TABLE DATA law contracts/);
  });

  it('the npm scripts sync dev from the latest prod backup', async () => {
    const pkg = JSON.parse(await readFile(path.join(import.meta.dirname, '../../package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['backup:prod']).toBe('node bin/dbops.js backup-db --target prod');
    expect(pkg.scripts['restore:dev']).toBe('node bin/dbops.js restore-db --from prod --target dev');
    const dir = await tempDir();
    const prod = await dbs.create({ load: [FIXTURE] });
    const dev = await dbs.create();
    const env = { DBOPS_BACKUP_DIR: dir, DATABASE_URL_PROD: prod.url, DATABASE_URL_DEV: dev.url };
    expect((await runCli(['backup-db', '--target', 'prod'], { env })).exitCode).toBe(0);
    const restored = await runCli(['restore-db', '--from', 'prod', '--target', 'dev', '--yes'], { env });
    expect(restored.exitCode).toBe(0);
    expect(restored.stdout).toMatch(/^✅ Restore complete and verified/);
    expect(restored.stdout).toMatch(/📁 Restored from: .*_prod\n/);
    expect((await fingerprint(dev.url)).tables).toEqual((await fingerprint(prod.url)).tables);
  });
});
