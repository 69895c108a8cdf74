import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTempDirs } from '../support/backups.js';
import { runCli } from '../support/cli.js';
import { withPg } from '../support/databases.js';
import { startEmbedded } from '../support/server-providers.js';

// A password pasted unencoded into --url (with @, a space, #, / and :) must connect, and must
// reach none of: artifact_events, the spool, stdout/stderr, the backup's files, or the argv of
// the tools dbops starts. --url-env and --url-file keep it off dbops's own argv as well.

const PASSWORD = 'Pw@1 #x/y:z@';
const tempDir = useTempDirs();

let server: Awaited<ReturnType<typeof startEmbedded>>;
let host: string;
let spool: string;
let binDir: string;
let argvLog: string;

beforeAll(async () => {
  server = await startEmbedded();
  host = new URL(server.adminUrl).host;
  await withPg(server.adminUrl, async (c) => {
    await c.query(`CREATE ROLE leaky LOGIN SUPERUSER PASSWORD ${c.escapeLiteral(PASSWORD)}`);
    await c.query('CREATE DATABASE leaky_db OWNER leaky');
  });
  await withPg(server.adminUrl.replace(/\/postgres$/, '/leaky_db'), (c) => c.query('CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)'));
  spool = await tempDir();
  // Every tool dbops starts writes its argv here first: what `ps` would show of it.
  binDir = await tempDir();
  argvLog = path.join(binDir, 'argv.log');
  for (const tool of ['pg_dump', 'pg_dumpall', 'psql', 'pg_restore']) {
    const real = (await execa('sh', ['-c', `command -v ${tool}`])).stdout.trim();
    await writeFile(path.join(binDir, tool), `#!/bin/sh\nprintf '%s\\n' "$0 $*" >> '${argvLog}'\nexec '${real}' "$@"\n`);
    await chmod(path.join(binDir, tool), 0o755);
  }
});

afterAll(async () => {
  await server?.stop();
});

const rawUrl = (database = 'leaky_db') => `postgres://leaky:${PASSWORD}@${host}/${database}`;

function cli(args: string[], env: Record<string, string> = {}) {
  // Events are recorded into the backed-up database itself, so they can be searched for the password.
  const events = `postgres://leaky:${encodeURIComponent(PASSWORD)}@${host}/leaky_db`;
  return runCli(args, { env: { DBOPS_SPOOL_DIR: spool, PG_BIN_DIR: binDir, PGPASSWORD: '', PGPASSFILE: '', PGSERVICE: '', DBOPS_EVENTS_URL: events, ...env } });
}

/** Every file under dir, read as bytes: the dump included. */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const entry of await readdir(dir, { recursive: true })) {
    const full = path.join(dir, String(entry));
    if ((await stat(full)).isFile() && (await readFile(full)).includes(needle)) hits.push(String(entry));
  }
  return hits;
}

async function eventsText(): Promise<string> {
  return withPg(server.adminUrl.replace(/\/postgres$/, '/leaky_db'), async (c) => {
    const rows = await c.query<{ row: string }>('SELECT row_to_json(e)::text AS row FROM code_ops.artifact_events e ORDER BY id');
    return rows.rows.map((r) => r.row).join('\n');
  });
}

async function spoolText(): Promise<string> {
  return readFile(path.join(spool, 'events.jsonl'), 'utf8').catch(() => '');
}

describe('a password with @, space, #, / and : in --url, unencoded', () => {
  it('connects, and appears in no event, output, backup file or tool argv', async () => {
    const out = await tempDir();
    const run = await cli(['backup-db', '--url', rawUrl(), '--out', out, '--json']);
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    const events = await eventsText();
    expect(events).toContain('"event_type":"invoked"');
    expect(events).toContain(`url (leaky@${host}/leaky_db)`);
    for (const piece of [PASSWORD, 'Pw@1', '#x/y', 'y:z']) {
      expect(run.stdout + run.stderr + run.progress.join('\n')).not.toContain(piece);
      expect(events).not.toContain(piece);
      expect(await filesContaining(out, piece)).toEqual([]);
    }
    const argv = await readFile(argvLog, 'utf8');
    expect(argv).toMatch(/pg_dump /);
    expect(argv).not.toContain('Pw@1');
  });

  it('a failing run spools its events (events database away) without the password', async () => {
    const run = await cli(['backup-db', '--url', rawUrl('no_such_db'), '--out', await tempDir(), '--json'], {
      DBOPS_EVENTS_URL: 'postgres://nobody@127.0.0.1:1/events',
    });
    expect(run.exitCode).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, error: { code: 'DATABASE_MISSING' } });
    const spooled = await spoolText();
    expect(spooled).toContain('"event_type":"failed"');
    expect(spooled).toContain(`"url":"postgres://leaky:[redacted]@${host}/no_such_db"`);
    for (const piece of ['Pw@1', '#x/y', 'y:z']) expect(spooled + run.stdout + run.stderr + run.progress.join('\n')).not.toContain(piece);
  });

  it('a lone % is refused (write it %25) and not recorded either', async () => {
    const run = await cli(['backup-db', '--url', `postgres://leaky:50%off@${host}/leaky_db`, '--json'], {
      DBOPS_EVENTS_URL: 'postgres://nobody@127.0.0.1:1/events',
    });
    expect(run.exitCode).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, error: { code: 'URL_INVALID', hint: expect.stringContaining('%25') } });
    expect((await spoolText()) + run.stdout).not.toContain('50%off');
  });
});

describe('keeping the URL off the process list', () => {
  it('--url-env NAME and --url-file PATH work, and --help says so', async () => {
    const out = await tempDir();
    const byEnv = await cli(['backup-db', '--url-env', 'LEAKY_URL', '--out', out, '--json', '--label', 'env'], { LEAKY_URL: rawUrl() });
    expect(byEnv.stderr).toBe('');
    expect(byEnv.exitCode).toBe(0);
    const file = path.join(await tempDir(), 'url');
    await writeFile(file, `${rawUrl()}\n`, { mode: 0o600 });
    const byFile = await cli(['backup-db', '--url-file', file, '--out', out, '--json', '--label', 'file']);
    expect(byFile.stderr).toBe('');
    expect(byFile.exitCode).toBe(0);
    const both = await cli(['backup-db', '--url', rawUrl(), '--url-env', 'LEAKY_URL']);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toBe(
      'error [USAGE]: backup-db: pass one of --url, --url-env, --url-file, --linked and --local, not --url and --url-env. Hint: Run dbops --help for the commands and their options.',
    );
    const unset = await cli(['backup-db', '--url-env', 'NO_SUCH_VARIABLE']);
    expect(unset.exitCode).toBe(2);
    expect(unset.stderr).toMatch(/^error \[TARGET_URL_MISSING\]: backup-db: --url-env NO_SUCH_VARIABLE: that environment variable is not set\./);
    for (const command of ['backup-db', 'restore-db', 'verify-backup', 'history']) {
      const help = await cli([command, '--help']);
      expect(help.stdout, command).toContain('--url-env NAME');
      expect(help.stdout, command).toContain('--url-file PATH');
    }
    expect((await cli(['--help'])).stdout).toContain('Keep passwords off the process list: --target NAME, --url-env NAME or --url-file PATH');
  });
});
