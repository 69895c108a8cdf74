import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parallelGzip } from '../../src/engine/backup/parallel-gzip.js';
import { deflateChoice, libdeflate } from '../../src/engine/libdeflate.js';
import { runCli } from '../support/cli.js';

// The optional libdeflate binding (src/native/, built by npm run build) and DBOPS_DEFLATE, which
// chooses between it and zlib. A wrong value, or libdeflate asked for where it is not built,
// stops a backup or a restore before it does anything, with one line that says what to do.

const scratch = mkdtempSync(path.join(tmpdir(), 'dbops-deflate-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the libdeflate binding', () => {
  it('is built and loads on a machine with libdeflate installed', () => {
    if (!existsSync('/usr/include/libdeflate.h')) return;
    expect(libdeflate()).toBeDefined();
    expect(deflateChoice({})).toBe('libdeflate');
    expect(deflateChoice({ DBOPS_DEFLATE: 'libdeflate' })).toBe('libdeflate');
  });

  it('is left aside with DBOPS_DEFLATE=zlib, and asking parallel-gzip for it then is an error', () => {
    expect(deflateChoice({ DBOPS_DEFLATE: 'zlib' })).toBe('zlib');
    expect(libdeflate({ DBOPS_DEFLATE: 'zlib' })).toBeUndefined();
    const before = process.env.DBOPS_DEFLATE;
    process.env.DBOPS_DEFLATE = 'zlib';
    try {
      expect(() => parallelGzip({ level: 1, engine: 'libdeflate' })).toThrow(/libdeflate binding is not built/);
      expect(() => parallelGzip({ level: 1 })).not.toThrow();
    } finally {
      if (before === undefined) delete process.env.DBOPS_DEFLATE;
      else process.env.DBOPS_DEFLATE = before;
    }
  });

  it('DBOPS_DEFLATE takes zlib or libdeflate, nothing else', () => {
    for (const value of ['gzip', 'ZLIB', 'lib deflate', '1'])
      expect(() => deflateChoice({ DBOPS_DEFLATE: value }), value).toThrow(/DBOPS_DEFLATE must be zlib or libdeflate/);
    expect(deflateChoice({ DBOPS_DEFLATE: '' })).toBe(libdeflate({}) === undefined ? 'zlib' : 'libdeflate');
  });
});

describe.runIf(libdeflate() !== undefined)('the binding refuses misuse rather than crashing', () => {
  // In a child process: were the binding to crash, the test fails instead of the test runner.
  const run = (code: string) =>
    spawnSync(process.execPath, ['-e', `const b = require(${JSON.stringify(path.resolve('dist/native/libdeflate_gzip.node'))});\n${code}`], {
      encoding: 'utf8',
    });

  it('a compressor given a second member while it compresses one', () => {
    const r = run(`const c = b.createCompressor(6);
      const x = Buffer.alloc(4e6, 97), o1 = Buffer.alloc(b.gzipBound(c, 4e6)), o2 = Buffer.alloc(b.gzipBound(c, 4e6));
      const first = b.gzip(c, x, o1);
      try { b.gzip(c, x, o2); console.log('shared'); } catch (e) { console.log('refused: ' + e.message); }
      first.then(() => b.gzip(c, x, o2)).then((n) => console.log('free again: ' + (n > 0)));`);
    expect(r.signal).toBeNull();
    expect(r.stdout).toBe('refused: libdeflate binding: this compressor is already compressing a member\nfree again: true\n');
  });

  it('something else in place of a compressor, and wrong arguments', () => {
    const r =
      run(`for (const f of [() => b.gzipBound({}, 5), () => b.gzip(Buffer.alloc(1), Buffer.alloc(1), Buffer.alloc(64)), () => b.gzip(b.createCompressor(1), 'text', Buffer.alloc(64)), () => b.gunzip('x'), () => b.createCompressor(13)])
        try { f(); console.log('accepted'); } catch (e) { console.log(e.constructor.name); }`);
    expect(r.signal).toBeNull();
    expect(r.stdout.trim().split('\n')).toEqual(['TypeError', 'TypeError', 'TypeError', 'TypeError', 'RangeError']);
  });
});

describe('DBOPS_DEFLATE at the command line', () => {
  // Nothing listens on port 9: had the commands got as far as connecting, they would say so.
  const url = 'postgres://nobody@127.0.0.1:9/nowhere';
  it.each([
    ['backup-db', ['backup-db', '--url', url, '--out', path.join(scratch, 'out')]],
    ['restore-db', ['restore-db', path.join(scratch, 'missing'), '--url', url, '--yes']],
  ])('%s with a wrong value stops at once: exit 2, one line, nothing written', async (_name, args) => {
    const run = await runCli(args, { env: { DBOPS_DEFLATE: 'fast', DBOPS_SPOOL_DIR: path.join(scratch, 'spool') } });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/^error \[OPTION_INVALID\]: DBOPS_DEFLATE must be zlib or libdeflate \(got "fast"\)/m);
    expect(run.stderr).not.toMatch(/connect|refused|127\.0\.0\.1:9/);
    expect(existsSync(path.join(scratch, 'out'))).toBe(false);
  });
});
