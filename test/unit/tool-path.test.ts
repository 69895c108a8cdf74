import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toolPath } from '../../src/engine/tools/tool-path.js';

// Where a client tool is run from: PG_BIN_DIR, the name on PATH, or — behind Debian's pg_wrapper
// with one version installed — the binary the wrapper would run, without starting Perl each time.

const scratch = mkdtempSync(path.join(tmpdir(), 'dbops-tool-path-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const wrapped = (() => {
  const onPath = (process.env.PATH ?? '')
    .split(path.delimiter)
    .map((d) => path.join(d, 'psql'))
    .find((f) => existsSync(f));
  return onPath !== undefined && realpathSync(onPath) === '/usr/share/postgresql-common/pg_wrapper';
})();
const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').filter((v) => existsSync(`/usr/lib/postgresql/${v}/bin/psql`)) : [];

describe('toolPath', () => {
  it('takes PG_BIN_DIR when it is set', () => {
    expect(toolPath('pg_dump', { PG_BIN_DIR: '/opt/pg/bin', PATH: '/usr/bin' })).toBe('/opt/pg/bin/pg_dump');
  });

  it('runs what PATH finds first when that is not the wrapper (a tool a test or the user put first)', () => {
    const dir = path.join(scratch, 'first');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'pg_restore'), '#!/bin/sh\necho fake\n');
    chmodSync(path.join(dir, 'pg_restore'), 0o755);
    expect(toolPath('pg_restore', { PATH: `${dir}${path.delimiter}/usr/bin` })).toBe('pg_restore');
  });

  it('leaves a name PATH does not have to the shell (TOOL_MISSING names it)', () => {
    expect(toolPath('pg_dumpall', { PATH: path.join(scratch, 'empty') })).toBe('pg_dumpall');
  });

  it('leaves alone a script of its own that happens to be called pg_wrapper', () => {
    const dir = path.join(scratch, 'other');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'pg_wrapper'), '#!/bin/sh\n');
    symlinkSync(path.join(dir, 'pg_wrapper'), path.join(dir, 'psql'));
    expect(toolPath('psql', { PATH: `${dir}${path.delimiter}/usr/bin` })).toBe('psql');
  });

  it.skipIf(!wrapped || versions.length !== 1)(
    'behind pg_wrapper with one version installed, runs that version directly, the same binary the wrapper runs',
    () => {
      const direct = toolPath('psql', { PATH: process.env.PATH ?? '' });
      expect(direct).toBe(`/usr/lib/postgresql/${versions[0]}/bin/psql`);
      expect(execFileSync(direct, ['--version'], { encoding: 'utf8' })).toBe(execFileSync('psql', ['--version'], { encoding: 'utf8' }));
    },
  );
});
