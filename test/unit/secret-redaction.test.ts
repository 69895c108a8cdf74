import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commandHelp } from '../../src/commands/help.js';
import { parseConnectionUrl } from '../../src/engine/connection.js';
import { redact, redactText, REDACTED } from '../../src/reporting/redact.js';
import { loadAllCommands } from '../../src/commands/index.js';
import { DEFAULT_CONFIG } from '../support/backups.js';

const COMMANDS = await loadAllCommands();

// A password pasted into a URL unencoded may hold any character. The connection parser and the
// redactor split the URL the same way (the userinfo runs to the last '@'), so what connects is
// exactly what is removed from the records.

const user = fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,15}$/);
const host = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,3}$/);
const port = fc.integer({ min: 1, max: 65535 }).filter((p) => p !== 6543);
const database = fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/);
// Any text at all, weighted towards the characters that broke the old pattern.
const password = fc
  .array(
    fc.oneof(fc.constantFrom('@', ' ', '#', '/', '%', ':', '?', '&', '=', "'", '"', '\\', '\n'), fc.string({ minLength: 1, maxLength: 3, unit: 'grapheme' })),
    {
      minLength: 1,
      maxLength: 12,
    },
  )
  .map((parts) => parts.join(''));
const query = fc.constantFrom('', '?sslmode=require', '?sslmode=verify-full&application_name=x');
// Surrounding text of a recorded argument: anything without an '@' or another URI in it.
const around = fc.string({ maxLength: 20 }).filter((s) => !s.includes('@') && !/[a-z]:\/\//i.test(s));

describe('the redactor (property-based)', () => {
  it('removes exactly the password of postgres://user:PASSWORD@host:port/db, whatever it holds', () => {
    fc.assert(
      fc.property(user, password, host, port, database, query, around, around, (u, p, h, n, d, q, before, after) => {
        const rest = `${h}:${n}/${d}${q}`;
        const out = redactText(`${before}postgres://${u}:${p}@${rest}${after}`);
        expect(out).toBe(`${before}postgres://${u}:${REDACTED}@${rest}${after}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves no trace of a distinctive password anywhere in a nested argument object', () => {
    const secret = password.map((p) => `S3cr3t${p}Z`);
    fc.assert(
      fc.property(user, secret, host, database, (u, p, h, d) => {
        const input = { url: `postgresql://${u}:${p}@${h}/${d}`, nested: [{ line: `/backup-db --url postgres://${u}:${p}@${h}/${d} --json` }], label: 'x' };
        const recorded = JSON.stringify(redact(input));
        expect(recorded).not.toContain('S3cr3t');
        expect(recorded).toContain(h);
      }),
      { numRuns: 1000 },
    );
  });

  it('never leaves more than it was given, and is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        const once = redactText(text);
        expect(redactText(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the connection parser agrees with the redactor', () => {
  it('reads the same password, host, port and database from an unencoded password (no %)', () => {
    fc.assert(
      fc.property(
        user,
        password.filter((p) => !p.includes('%')),
        host,
        port,
        database,
        (u, p, h, n, d) => {
          const spec = parseConnectionUrl(`postgres://${u}:${p}@${h}:${n}/${d}`, 'test', {});
          expect(spec).toMatchObject({ user: u, password: p, host: h, port: n, database: d });
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('decodes a percent-encoded password of any characters', () => {
    fc.assert(
      fc.property(
        user,
        fc.string({ minLength: 1, unit: 'binary' }).filter((p) => !/[\uD800-\uDFFF]/.test(p)),
        host,
        (u, p, h) => {
          expect(parseConnectionUrl(`postgres://${u}:${encodeURIComponent(p)}@${h}/db`, 'test', {}).password).toBe(p);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('refuses a lone % without repeating the URL', () => {
    expect(() => parseConnectionUrl('postgres://u:50%off@h/d', 'test', {})).toThrow(
      expect.objectContaining({ code: 'URL_INVALID', message: expect.not.stringContaining('50%off') }),
    );
    expect(redactText('postgres://u:50%off@h/d')).toBe(`postgres://u:${REDACTED}@h/d`);
  });
});

describe('the redactor on other shapes', () => {
  it.each([
    ['a URL whose @ was forgotten', 'postgres://app:hunter2', `postgres://app:${REDACTED}`],
    ['a port stays', 'postgres://db.example.com:5432/main', 'postgres://db.example.com:5432/main'],
    ['a user without password stays', 'postgres://app@db/main', 'postgres://app@db/main'],
    [
      'a password query parameter',
      'postgres://app@db/main?sslmode=require&password=hunter2&x=1',
      `postgres://app@db/main?sslmode=require&password=${REDACTED}`,
    ],
    ['a libpq conninfo', "host=db user=app password='hun ter\\'2' dbname=main", `host=db user=app password=${REDACTED} dbname=main`],
    ['two URLs in one line', 'postgres://a:one@h1/d and postgres://b:two@h2/d', `postgres://a:${REDACTED}@h2/d`],
    ['any scheme', 'https://u:tok@example.com/x', `https://u:${REDACTED}@example.com/x`],
  ])('%s', (_, input, expected) => {
    expect(redactText(input)).toBe(expected);
    expect(redactText(input)).not.toMatch(/hunter2|hun ter|one@|tok@/);
  });

  it('drops the value of keys named like a secret', () => {
    expect(redact({ password: 'x', apiToken: 'y', PGPASSWORD: 'z', url_env: 'DATABASE_URL' })).toEqual({
      password: REDACTED,
      apiToken: REDACTED,
      PGPASSWORD: REDACTED,
      url_env: 'DATABASE_URL',
    });
  });
});

describe('--help', () => {
  it('offers --url-env and --url-file on exactly the commands that take --url', () => {
    for (const command of COMMANDS) {
      const help = commandHelp(command, 'description', DEFAULT_CONFIG);
      const takesUrl = 'url' in command.input.shape;
      expect(help.includes('--url-env NAME') && help.includes('--url-file PATH'), command.name).toBe(takesUrl);
    }
  });
});
