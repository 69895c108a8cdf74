import { describe, expect, it } from 'vitest';
import { isLocalHost, tlsAttempts } from '../../src/engine/connection-tls.js';
import { libpqEnv, parseConnectionUrl, pgClientAttempts } from '../../src/engine/connection.js';

// Which TLS dbops asks for when the URL says nothing, and which sslmode values it accepts.

describe('sslmode', () => {
  it('defaults to prefer on this machine and require anywhere else, for dbops and the tools alike', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '[::1]']) {
      const spec = parseConnectionUrl(`postgres://u@${host}/d`, 'test', {});
      expect(spec.sslmode, host).toBe('prefer');
    }
    expect(parseConnectionUrl('postgres://u@localhost/d?host=/var/run/postgresql', 'test', {}).sslmode).toBe('prefer');
    for (const host of ['db.example.com', '10.0.0.5', '[2001:db8::1]', 'aws-0-eu-central-1.pooler.supabase.com', '128.0.0.1']) {
      const spec = parseConnectionUrl(`postgres://u@${host}/d`, 'test', {});
      expect(spec.sslmode, host).toBe('require');
      expect(libpqEnv(spec).PGSSLMODE).toBe('require');
      expect(pgClientAttempts(spec).map((c) => c.ssl)).toEqual([{ rejectUnauthorized: false }]);
    }
  });

  it('takes the URL first, then PGSSLMODE', () => {
    expect(parseConnectionUrl('postgres://u@db.example.com/d?sslmode=verify-full', 'test', { PGSSLMODE: 'disable' }).sslmode).toBe('verify-full');
    expect(parseConnectionUrl('postgres://u@db.example.com/d', 'test', { PGSSLMODE: 'disable' }).sslmode).toBe('disable');
  });

  it('refuses a value libpq does not know, in one line, before any connection', () => {
    expect(() => parseConnectionUrl('postgres://u@db.example.com/d?sslmode=requir', 'DATABASE_URL', {})).toThrow(
      expect.objectContaining({
        code: 'URL_INVALID',
        message: 'The sslmode "requir" for the connection from DATABASE_URL is not one of disable, allow, prefer, require, verify-ca, verify-full.',
      }),
    );
    expect(() => parseConnectionUrl('postgres://u@h/d', 'DATABASE_URL', { PGSSLMODE: 'on' })).toThrow(expect.objectContaining({ code: 'URL_INVALID' }));
  });

  it('tries TLS then plain for prefer, plain then TLS for allow, one way otherwise', () => {
    expect(tlsAttempts('prefer', {})).toEqual([{ rejectUnauthorized: false }, false]);
    expect(tlsAttempts('allow', {})).toEqual([false, { rejectUnauthorized: false }]);
    expect(tlsAttempts('disable', {})).toEqual([false]);
    expect(tlsAttempts('verify-full', {})).toEqual([{ rejectUnauthorized: true }]);
    const verifyCa = tlsAttempts('verify-ca', {})[0];
    expect(verifyCa).toMatchObject({ rejectUnauthorized: true });
    expect((verifyCa as { checkServerIdentity: () => unknown }).checkServerIdentity()).toBeUndefined();
  });

  it('counts only loopback and sockets as local', () => {
    expect(['/tmp', 'localhost', 'LOCALHOST', '127.0.0.1', '::1', '[::1]', '0:0:0:0:0:0:0:1'].every(isLocalHost)).toBe(true);
    expect(['localhost.example.com', '127.example.com', '10.1.1.1', '::2', '192.168.1.1'].some(isLocalHost)).toBe(false);
  });
});
