import { describe, expect, it } from 'vitest';
import { lockTimeoutFromEnv } from '../../src/engine/connection-locks.js';
import { cutShort } from '../../src/engine/errors.js';
import { markerPath } from '../../src/engine/restore/rollback-marker.js';
import { lockFailure } from '../../src/engine/tools/pg-tools.js';
import { boundedForRecord } from '../../src/reporting/bounded.js';
import { backupDb } from '../../src/commands/backup-db.js';
import type { AnyCommand } from '../../src/commands/command.js';
import { parseCommandLine } from '../../src/commands/flags.js';
import { parseConfig } from '../../src/engine/config.js';

// The small rules behind "nothing hangs, nothing huge is echoed or stored".

describe('lock limits', () => {
  it('DBOPS_LOCK_TIMEOUT takes seconds, s, ms and min, and refuses anything else by name', () => {
    expect(lockTimeoutFromEnv({})).toBe(30_000);
    expect(lockTimeoutFromEnv({ DBOPS_LOCK_TIMEOUT: '5' })).toBe(5000);
    expect(lockTimeoutFromEnv({ DBOPS_LOCK_TIMEOUT: '2.5s' })).toBe(2500);
    expect(lockTimeoutFromEnv({ DBOPS_LOCK_TIMEOUT: '500ms' })).toBe(500);
    expect(lockTimeoutFromEnv({ DBOPS_LOCK_TIMEOUT: '2min' })).toBe(120_000);
    expect(() => lockTimeoutFromEnv({ DBOPS_LOCK_TIMEOUT: 'soon' })).toThrow(
      'DBOPS_LOCK_TIMEOUT must be a duration between 100ms and 24h, like 30s, 500ms or 2min (got "soon").',
    );
    expect(() => lockTimeoutFromEnv({ DBOPS_LOCK_TIMEOUT: '0' })).toThrow(/between 100ms and 24h/);
  });

  it('reads which relations a timed-out lock wait was for, from pg_dump and from a session of its own', () => {
    const dump =
      'pg_dump: error: query failed: ERROR:  canceling statement due to statement timeout\npg_dump: detail: Query was: LOCK TABLE public.t, "Odd ""x""".u IN ACCESS SHARE MODE';
    expect(lockFailure(dump)).toEqual({ line: 'waited too long for a lock on public.t, "Odd ""x""".u', relations: ['public.t', '"Odd ""x""".u'] });
    expect(lockFailure('psql:drop.sql:12: ERROR:  canceling statement due to lock timeout')?.relations).toEqual([]);
    expect(lockFailure('ERROR:  could not obtain lock on relation "public.t"')?.relations).toEqual(['public.t']);
    // A statement timeout that was not a LOCK TABLE is not a lock wait.
    expect(lockFailure('ERROR:  canceling statement due to statement timeout\nQuery was: SELECT 1')).toBeUndefined();
  });
});

describe('rollback markers', () => {
  it('are named by host, port and database with only safe characters, and hashed when that would be too long', () => {
    expect(markerPath('/b', { host: '127.0.0.1', port: 5432, database: 'app dev/x' })).toBe('/b/.rollback-127.0.0.1_5432_app%20dev%2Fx.json');
    expect(markerPath('/b', { host: 'h', port: 1, database: 'é'.repeat(63) })).toMatch(/^\/b\/\.rollback-[0-9a-f]{32}\.json$/);
  });
});

describe('what is echoed and recorded of an argument', () => {
  it('cuts values short on one line', () => {
    expect(cutShort('short')).toBe('short');
    expect(cutShort('a\nb\u0007')).toBe('a\\nb?');
    expect(cutShort('x'.repeat(100), 10)).toBe('xxxxxxxxxx… (100 characters)');
  });

  it('refuses an argument longer than 4096 characters before parsing, naming its option, not its value', () => {
    const config = parseConfig('{}', 'defaults');
    const command = backupDb as unknown as AnyCommand;
    expect(() => parseCommandLine(command, ['--label', 'L'.repeat(5000)], config)).toThrow(
      'backup-db: the value of --label is 5000 characters long; arguments are at most 4096.',
    );
    expect(() => parseCommandLine(command, [`--${'y'.repeat(3000)}`], config)).toThrow(/Unknown option '--y{38}… \(3002 characters\)'/);
  });

  it('records at most 300 characters a value and 50 items a list', () => {
    const recorded = boundedForRecord({ label: 'H'.repeat(1000), tables: Array.from({ length: 60 }, (_, i) => `t${i}`) }) as {
      label: string;
      tables: string[];
    };
    expect(recorded.label).toBe(`${'H'.repeat(300)}… (1000 characters)`);
    expect(recorded.tables).toHaveLength(51);
    expect(recorded.tables.at(-1)).toBe('… 10 more');
  });
});
