import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConnectionUrl } from '../../src/engine/connection.js';
import type { DbopsError } from '../../src/engine/errors.js';
import { linkedProjectUrl, localProjectUrl } from '../../src/engine/supabase-cli-project.js';
import { resolveTarget } from '../../src/engine/targets.js';
import { loadConfig } from '../../src/engine/config.js';

// Supabase users' own conventions: Prisma's pooled DATABASE_URL and DIRECT_URL, the transaction
// pooler, SUPABASE_DB_PASSWORD, and the files `supabase link` / `supabase init` leave behind.

const REF = 'abcdefghijklmnopqrst';
const caught = (fn: () => unknown): DbopsError => {
  try {
    fn();
  } catch (error) {
    return error as DbopsError;
  }
  throw new Error('did not throw');
};

describe('pooled URLs', () => {
  it("Prisma's ?pgbouncer=true is explained, with the session-pooler URL to use, and never the password", () => {
    const e = caught(() =>
      parseConnectionUrl(
        `postgresql://postgres.${REF}:s3cret-pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres?pgbouncer=true&connection_limit=1`,
        'DATABASE_URL',
      ),
    );
    expect(e.code).toBe('URL_POOLER_TRANSACTION');
    expect(e.message).toBe(
      'The URL from DATABASE_URL is a Prisma pooled URL (pgbouncer, connection_limit): it is meant for a transaction pooler, which pg_dump and pg_restore cannot work through.',
    );
    expect(e.hint).toContain(`postgres://postgres.${REF}:PASSWORD@aws-0-eu-central-1.pooler.supabase.com:5432/postgres`);
    expect(e.hint).toContain('DIRECT_URL');
    expect(`${e.message} ${e.hint}`).not.toContain('s3cret-pw');
  });

  it('port 6543 is the transaction pooler: refused with the same advice', () => {
    const e = caught(() => parseConnectionUrl(`postgres://postgres.${REF}:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres`, '--url'));
    expect(e.code).toBe('URL_POOLER_TRANSACTION');
    expect(e.hint).toContain(':5432/postgres');
  });

  it('DIRECT_URL is read before DATABASE_URL (Prisma keeps the pooled one there)', () => {
    const { config } = loadConfig(mkdtempSync(path.join(tmpdir(), 'dbops-noconfig-')), {});
    const target = resolveTarget(
      config,
      {},
      { DIRECT_URL: `postgres://postgres:pw@db.${REF}.supabase.co:5432/postgres`, DATABASE_URL: 'postgres://x:y@pooler:6543/postgres?pgbouncer=true' },
      'staging',
    );
    expect(target.spec.host).toBe(`db.${REF}.supabase.co`);
    expect(target.spec.sslmode).toBe('require');
  });
});

describe('SUPABASE_DB_PASSWORD', () => {
  it('is the password of a Supabase host whose URL has none, and of no other host', () => {
    const env = { SUPABASE_DB_PASSWORD: 'from-supabase-cli' };
    expect(parseConnectionUrl(`postgres://postgres@db.${REF}.supabase.co:5432/postgres`, 'x', env).password).toBe('from-supabase-cli');
    expect(parseConnectionUrl('postgres://postgres@db.example.com:5432/postgres', 'x', { ...env, PGPASSFILE: '/nonexistent' }).password).toBeUndefined();
    expect(parseConnectionUrl(`postgres://postgres:given@db.${REF}.supabase.co:5432/postgres`, 'x', env).password).toBe('given');
  });
});

describe('--linked and --local', () => {
  async function project(files: Record<string, string>): Promise<string> {
    const root = mkdtempSync(path.join(tmpdir(), 'dbops-supa-'));
    for (const [file, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(root, file)), { recursive: true });
      await writeFile(path.join(root, file), text);
    }
    return root;
  }

  it('--linked: the recorded pooler host in session mode (5432), SUPABASE_DB_PASSWORD, TLS required', async () => {
    const root = await project({
      'supabase/.temp/project-ref': `${REF}\n`,
      'supabase/.temp/pooler-url': `postgresql://postgres.${REF}@aws-0-eu-central-1.pooler.supabase.com:6543/postgres\n`,
    });
    const url = linkedProjectUrl(root, { SUPABASE_DB_PASSWORD: 'p@ss word' });
    const spec = parseConnectionUrl(url, '--linked', {});
    expect(spec).toMatchObject({
      host: 'aws-0-eu-central-1.pooler.supabase.com',
      port: 5432,
      user: `postgres.${REF}`,
      database: 'postgres',
      password: 'p@ss word',
      sslmode: 'require',
    });
  });

  it('--linked without a pooler URL: the direct host db.<ref>.supabase.co', async () => {
    const root = await project({ 'supabase/.temp/project-ref': REF });
    expect(parseConnectionUrl(linkedProjectUrl(root, { SUPABASE_DB_PASSWORD: 'pw' }), '--linked', {})).toMatchObject({
      host: `db.${REF}.supabase.co`,
      port: 5432,
      user: 'postgres',
    });
  });

  it('--linked says what is missing: the link, or the password', async () => {
    expect(caught(() => linkedProjectUrl(mkdtempSync(path.join(tmpdir(), 'dbops-supa-')), { SUPABASE_DB_PASSWORD: 'pw' })).code).toBe('SUPABASE_NOT_LINKED');
    const root = await project({ 'supabase/.temp/project-ref': REF });
    const e = caught(() => linkedProjectUrl(root, {}));
    expect(e.code).toBe('TARGET_URL_MISSING');
    expect(e.message).toMatch(/SUPABASE_DB_PASSWORD is not set/);
  });

  it('--local: [db] port of supabase/config.toml, else 54322', async () => {
    const custom = await project({
      'supabase/config.toml': 'project_id = "x"\n\n[api]\nport = 54321\n\n[db]\n# the database\nport = 55432\nmajor_version = 15\n\n[studio]\nport = 54323\n',
    });
    expect(localProjectUrl(custom)).toBe('postgres://postgres:postgres@127.0.0.1:55432/postgres');
    const plain = await project({ 'supabase/config.toml': 'project_id = "x"\n[api]\nport = 54321\n' });
    expect(localProjectUrl(plain)).toBe('postgres://postgres:postgres@127.0.0.1:54322/postgres');
    expect(caught(() => localProjectUrl(mkdtempSync(path.join(tmpdir(), 'dbops-supa-')))).code).toBe('SUPABASE_NOT_LINKED');
  });
});
