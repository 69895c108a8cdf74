import { describe, expect, it } from 'vitest';
import { libpqEnv, parseConnectionUrl, pgClientConfig } from '../../src/engine/connection.js';

const PASSWORD = `p@ss:w/rd#?%&"'`;

describe('connection URLs', () => {
  it('decodes a percent-encoded password with any characters and passes it only through the environment', () => {
    const url = `postgres://app:${encodeURIComponent(PASSWORD)}@db.example.com:5432/main?sslmode=require`;
    const spec = parseConnectionUrl(url, 'DATABASE_URL');
    expect(spec).toMatchObject({ host: 'db.example.com', port: 5432, database: 'main', user: 'app', password: PASSWORD, sslmode: 'require' });
    expect(libpqEnv(spec)).toMatchObject({ PGPASSWORD: PASSWORD, PGSSLMODE: 'require', PGHOST: 'db.example.com', PGCONNECT_TIMEOUT: '10' });
    expect(pgClientConfig(spec).ssl).toEqual({ rejectUnauthorized: false });
  });

  it('refuses the transaction pooler with the session-pooler hint', () => {
    expect(() => parseConnectionUrl('postgres://u:pw@aws-0-eu.pooler.supabase.com:6543/postgres', 'DATABASE_URL')).toThrow(
      expect.objectContaining({ code: 'URL_POOLER_TRANSACTION', hint: expect.stringContaining('port 5432') }),
    );
  });

  it('never repeats the URL (and so the password) in an error', () => {
    for (const bad of ['mysql://u:hunter2@h/d', 'postgres://u:hunter2@/d', 'not a url hunter2', 'postgres://u:hunter2@h/d?weird=1']) {
      try {
        parseConnectionUrl(bad, 'DATABASE_URL');
        expect.unreachable(bad);
      } catch (error) {
        expect((error as Error).message).not.toContain('hunter2');
        expect((error as { code: string }).code).toBe('URL_INVALID');
      }
    }
  });

  it('passes sslmode and a unix-socket host through', () => {
    const spec = parseConnectionUrl('postgresql://u@localhost/d?host=/var/run/postgresql&sslmode=disable&application_name=x', 'X');
    expect(libpqEnv(spec)).toMatchObject({ PGHOST: '/var/run/postgresql', PGSSLMODE: 'disable', PGAPPNAME: 'x' });
  });
});
