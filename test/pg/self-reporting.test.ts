import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadArtifacts } from '../../src/loader/load-artifacts.js';
import { useTempDirs } from '../support/backups.js';
import { runCli } from '../support/cli.js';
import { FIXTURE, PROJECT_ROOT, useTestDatabases, withPg } from '../support/databases.js';

const dbs = useTestDatabases('events');
const tempDir = useTempDirs();
let source: { name: string; url: string };
let events: { name: string; url: string };

interface EventRow {
  run_id: string;
  artifact_type: string;
  artifact_name: string;
  artifact_version: string;
  event_type: string;
  success: boolean | null;
  details: Record<string, unknown>;
}

async function eventsOf(url: string, runIds?: string[]): Promise<EventRow[]> {
  return withPg(url, async (c) => {
    const present = await c.query(`SELECT to_regclass('code_ops.artifact_events') IS NOT NULL AS p`);
    if (!present.rows[0]?.p) return [];
    const r = await c.query<EventRow>(
      `SELECT run_id::text, artifact_type, artifact_name, artifact_version, event_type, success, details
         FROM code_ops.artifact_events WHERE $1::uuid[] IS NULL OR run_id = ANY($1) ORDER BY id`,
      [runIds ?? null],
    );
    return r.rows;
  });
}

beforeAll(async () => {
  source = await dbs.create({ load: [FIXTURE] });
  events = await dbs.create();
});

describe('self-reporting', () => {
  it('dbops run "/backup-db --no-transient" backs up without transient data and records invoked + completed', async () => {
    const backups = await tempDir();
    const run = await runCli(['run', '/backup-db --no-transient --json'], {
      env: { DATABASE_URL_STAGING: source.url, DBOPS_EVENTS_URL: events.url, DBOPS_BACKUP_DIR: backups, DBOPS_SPOOL_DIR: await tempDir() },
    });
    expect(run.exitCode).toBe(0);
    const { backupDir } = JSON.parse(run.stdout) as { backupDir: string };
    const counts = JSON.parse(await readFile(path.join(backupDir, 'row_counts.json'), 'utf8')) as {
      tables: Array<{ table: string; rows: number; dataIncluded: boolean }>;
    };
    expect(counts.tables.find((t) => t.table === 'tasks')).toMatchObject({ rows: 0, dataIncluded: false });
    const slashRun = (await eventsOf(events.url)).find((e) => e.details.triggered_by === 'slash')!.run_id;
    const rows = await eventsOf(events.url, [slashRun]);
    expect(rows.map((r) => r.event_type)).toEqual(['invoked', 'completed']);
    const [invoked, completed] = rows as [EventRow, EventRow];
    expect(completed.run_id).toBe(invoked.run_id);
    expect(invoked).toMatchObject({ artifact_type: 'command', artifact_name: 'backup-db', artifact_version: '1.0.0', success: null });
    expect(invoked.details).toEqual({ triggered_by: 'slash', args: { exclude: ['transient'] }, target: 'staging' });
    expect(completed).toMatchObject({ success: true, details: { backupDir, tables: 33 } });
    expect((completed.details as { sizes: { backupBytes: number } }).sizes.backupBytes).toEqual(expect.any(Number));
  });

  it('a failing run records invoked + failed with the error, and no password anywhere', async () => {
    const run = await runCli(['backup-db', '--url', 'postgres://app:s3cret-pw@127.0.0.1:1/app', '--out', await tempDir()], {
      env: { DBOPS_EVENTS_URL: events.url, DBOPS_SPOOL_DIR: await tempDir() },
    });
    expect(run.exitCode).toBe(1);
    const rows = (await eventsOf(events.url)).filter(
      (e) => (e.details.args as { url?: string } | undefined)?.url?.includes('127.0.0.1:1') || e.details.code === 'CONNECT_FAILED',
    );
    expect(rows.map((r) => r.event_type)).toEqual(['invoked', 'failed']);
    expect(rows[1]).toMatchObject({ success: false, details: { code: 'CONNECT_FAILED', error: expect.stringMatching(/^Cannot connect to 127\.0\.0\.1:1/) } });
    expect(rows[0]?.details.target).toBe('url (app@127.0.0.1:1/app)');
    expect(JSON.stringify(rows)).not.toContain('s3cret-pw');
  });

  it('spools events while the events database is down and flushes them, once, when it is back', async () => {
    const spool = await tempDir();
    const backups = await tempDir();
    const home = await dbs.create();
    const env = { DBOPS_EVENTS_URL: home.url, DBOPS_BACKUP_DIR: backups, DBOPS_SPOOL_DIR: spool };
    // The events database "goes down": renamed away, so its URL stops answering.
    const away = `${home.name}_away`;
    await withPg(dbs.adminUrl, (c) => c.query(`ALTER DATABASE ${c.escapeIdentifier(home.name)} RENAME TO ${c.escapeIdentifier(away)}`));
    let down;
    try {
      down = await runCli(['backup-db', '--url', source.url, '--label', 'spooled', '--json'], { env });
    } finally {
      await withPg(dbs.adminUrl, (c) => c.query(`ALTER DATABASE ${c.escapeIdentifier(away)} RENAME TO ${c.escapeIdentifier(home.name)}`));
    }
    expect(down.exitCode).toBe(0);
    const spooled = (await readFile(path.join(spool, 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { dest: string; event: { run_id: string; event_type: string } });
    expect(spooled.map((s) => s.event.event_type)).toEqual(['invoked', 'completed']);
    expect(spooled[0]!.dest).not.toMatch(/:[^@]*@.*:[^/]*@/);
    const runId = spooled[0]!.event.run_id;

    // Back up: the next call that records (history, being read-only, does not) delivers the spool.
    expect((await runCli(['prune-backups', '--dry-run'], { env: { ...env, DBOPS_BACKUP_DIR: await tempDir() } })).exitCode).toBe(0);
    expect((await eventsOf(home.url, [runId])).map((e) => e.event_type)).toEqual(['invoked', 'completed']);
    expect((await readFile(path.join(spool, 'events.jsonl'), 'utf8').catch(() => '')).trim()).toBe('');
    // Delivering the same lines again stores nothing twice.
    await writeFile(path.join(spool, 'events.jsonl'), `${spooled.map((s) => JSON.stringify(s)).join('\n')}\n`);
    expect((await runCli(['history', '--limit', '1'], { env })).exitCode).toBe(0);
    expect(await eventsOf(home.url, [runId])).toHaveLength(2);
  });

  it('history --json returns the runs just made, newest first, with their status', async () => {
    const env = { DBOPS_EVENTS_URL: events.url, DBOPS_SPOOL_DIR: await tempDir() };
    const run = await runCli(['history', '--artifact', 'backup-db', '--json'], { env });
    expect(run.exitCode).toBe(0);
    const { runs } = JSON.parse(run.stdout) as { runs: Array<{ command: string; status: string; trigger: string; detail: string | null; startedAt: string }> };
    expect(runs.map((r) => `${r.trigger}:${r.status}`)).toEqual(['cli:failed', 'slash:completed']);
    expect(runs[0]?.detail).toMatch(/^Cannot connect to 127\.0\.0\.1:1/);
    expect(runs[1]?.detail).toMatch(/_staging$/);
    expect([...runs].sort((a, b) => b.startedAt.localeCompare(a.startedAt))).toEqual(runs);
    const failed = await runCli(['history', '--status', 'failed', '--since', '1h', '--json'], { env });
    expect((JSON.parse(failed.stdout) as { runs: unknown[] }).runs).toHaveLength(1);
    const bad = await runCli(['history', '--since', 'yesterday'], { env });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/^error \[OPTION_INVALID\]: history: since: use a number and m, h, d or w, e.g. 7d\./);
  });

  it('the migration is idempotent and safe when several processes run it at once', async () => {
    const db = await dbs.create();
    const env = { DBOPS_EVENTS_URL: db.url, DBOPS_SPOOL_DIR: await tempDir() };
    // prune-backups records its runs (history, being read-only, records nothing into a database).
    const runs = await Promise.all(
      Array.from({ length: 4 }, async () => runCli(['prune-backups', '--dry-run', '--json'], { env: { ...env, DBOPS_BACKUP_DIR: await tempDir() } })),
    );
    expect(runs.map((r) => r.exitCode)).toEqual([0, 0, 0, 0]);
    const view = await withPg(db.url, (c) => c.query(`SELECT count(*)::int AS n FROM code_ops.artifact_runs WHERE artifact_name = 'prune-backups'`));
    expect(view.rows[0]?.n).toBe(4);
  });
});

describe('the bash line in each command body', () => {
  let docs: Awaited<ReturnType<typeof loadArtifacts>>['commands'];
  beforeAll(async () => {
    docs = (await loadArtifacts(PROJECT_ROOT)).commands;
  });

  function bashLine(name: string): string {
    const body = docs.find((d) => d.name === name)!.body;
    const line = /```bash\n(.+)\n```/.exec(body)?.[1];
    expect(line, `${name} has a bash block`).toBeDefined();
    return line!;
  }

  async function runBody(name: string, argumentsText: string, env: Record<string, string>) {
    // As the assistant does: $ARGUMENTS is replaced by the argument string as typed, then bash runs
    // it, with the plugin's bin/ on PATH as Claude Code puts it for an installed plugin.
    const line = bashLine(name).replace('$ARGUMENTS', argumentsText);
    const PATH = `${path.join(PROJECT_ROOT, 'bin')}${path.delimiter}${process.env.PATH ?? ''}`;
    return execa('bash', ['-c', line], { cwd: PROJECT_ROOT, reject: false, env: { DATABASE_URL: '', DATABASE_URL_STAGING: '', ...env, PATH } });
  }

  it('backup-db, restore-db and history run and succeed', async () => {
    const backups = await tempDir();
    const target = await dbs.create();
    const env = {
      DATABASE_URL_STAGING: source.url,
      DATABASE_URL_DEV: target.url,
      DBOPS_BACKUP_DIR: backups,
      DBOPS_EVENTS_URL: events.url,
      DBOPS_SPOOL_DIR: await tempDir(),
    };
    const backup = await runBody('backup-db', '--no-transient --label from-body', env);
    expect(backup.exitCode, String(backup.stderr)).toBe(0);
    expect(String(backup.stdout)).toMatch(/^✅ Backup complete/);
    const restore = await runBody('restore-db', '--target dev', env);
    expect(restore.exitCode, String(restore.stderr)).toBe(0);
    expect(String(restore.stdout)).toMatch(/^✅ Restore complete and verified/);
    const history = await runBody('history', '--limit 3', env);
    expect(history.exitCode).toBe(0);
    expect(String(history.stdout)).toMatch(/restore-db +✅ completed/);
  });

  it('the old script names still work, with the same exit codes', async () => {
    const backups = await tempDir();
    const ok = await execa(path.join(PROJECT_ROOT, 'storage/scripts/backup-db-v2.sh'), ['--url', source.url, '--json'], {
      reject: false,
      env: { DBOPS_BACKUP_DIR: backups, DBOPS_EVENTS_URL: events.url, DBOPS_SPOOL_DIR: await tempDir() },
    });
    expect(ok.exitCode).toBe(0);
    const usage = await execa(path.join(PROJECT_ROOT, 'storage/scripts/restore-db-v2.sh'), ['--bogus'], { reject: false });
    expect(usage.exitCode).toBe(2);
  });
});
