import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { libpqEnv, parseConnectionUrl } from '../../src/engine/connection.js';

// How a URL is completed from libpq's service file, PG* variables and .pgpass: the same order
// libpq uses (URL, then service, then environment), so psql and dbops reach the same server.

const dir = mkdtempSync(path.join(tmpdir(), 'dbops-libpq-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string, mode = 0o600): string {
  const full = path.join(dir, name);
  writeFileSync(full, text, { mode });
  return full;
}

describe("completing a URL from libpq's environment", () => {
  it('takes each missing value from the service first, then the PG* variable', () => {
    const PGSERVICEFILE = file('svc.conf', '# comment\n[app]\nhost=svc.example.com\nport=5433\ndbname=svcdb\nsslmode=verify-full\n');
    const env = { PGSERVICEFILE, PGSERVICE: 'app', PGUSER: 'envuser', PGHOST: 'env.example.com', PGPASSWORD: 'from-env', HOME: dir };
    const spec = parseConnectionUrl('postgres:///?application_name=x', 'test', env);
    expect(spec).toMatchObject({ host: 'svc.example.com', port: 5433, database: 'svcdb', user: 'envuser', password: 'from-env', sslmode: 'verify-full' });
    // What the URL names wins over both.
    expect(parseConnectionUrl('postgres://u:p@url.example.com:6000/urldb?sslmode=disable', 'test', env)).toMatchObject({
      host: 'url.example.com',
      port: 6000,
      database: 'urldb',
      user: 'u',
      password: 'p',
      sslmode: 'disable',
    });
  });

  it('reads .pgpass: first matching line, * wildcards, \\: and \\\\ escapes; never a file others may read', () => {
    const PGPASSFILE = file('pgpass', 'db.example.com:5432:other:app:nope\n*:5432:*:app:a\\:b\\\\c:d\n');
    const env = { PGPASSFILE, HOME: dir };
    expect(parseConnectionUrl('postgres://app@db.example.com/main', 'test', env).password).toBe('a:b\\c:d');
    expect(parseConnectionUrl('postgres://app@db.example.com:5433/main', 'test', env).password).toBeUndefined();
    const open = file('pgpass-open', '*:*:*:*:secret\n', 0o644);
    expect(parseConnectionUrl('postgres://app@db.example.com/main', 'test', { PGPASSFILE: open, HOME: dir }).password).toBeUndefined();
  });

  it('hands child tools the resolved values, never PGSERVICE (a service would outrank PGHOST)', () => {
    const PGSERVICEFILE = file('svc2.conf', '[s]\nhost=svc.example.com\nuser=svcuser\ndbname=d\npassword=pw\n');
    const env = libpqEnv(parseConnectionUrl('postgres://other.example.com/x?service=s', 'test', { PGSERVICEFILE, HOME: dir }));
    expect(env).toMatchObject({ PGHOST: 'other.example.com', PGUSER: 'svcuser', PGDATABASE: 'x', PGPASSWORD: 'pw' });
    expect(env).not.toHaveProperty('PGSERVICE');
  });

  it('refuses an unknown service key without echoing its value', () => {
    const PGSERVICEFILE = file('svc3.conf', '[s]\nhost=h\nbogus=hunter2\n');
    expect(() => parseConnectionUrl('postgres:///?service=s', 'test', { PGSERVICEFILE, HOME: dir })).toThrow(/svc3\.conf line 3: "bogus" is not a setting/);
    try {
      parseConnectionUrl('postgres:///?service=s', 'test', { PGSERVICEFILE, HOME: dir });
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
    }
  });
});
