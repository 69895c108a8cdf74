import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../support/databases.js';

// scripts/build-native.mjs, the step of npm run build that compiles the libdeflate binding: built
// where a compiler, Node's headers and libdeflate are there; else one line saying why and zlib,
// the build going on — unless CI asks for the binding (DBOPS_BUILD_NATIVE=require), then an error.

const scratch = mkdtempSync(path.join(tmpdir(), 'dbops-native-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function build(out: string, env: Record<string, string> = {}) {
  const { DBOPS_BUILD_NATIVE: _required, ...rest } = process.env;
  return spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts/build-native.mjs'), '--out', out], { encoding: 'utf8', env: { ...rest, ...env } });
}

describe('build-native', () => {
  it.runIf(existsSync('/usr/include/libdeflate.h'))('builds a binding that loads and compresses', () => {
    const out = path.join(scratch, 'built');
    const run = build(out);
    expect(run.status, run.stderr).toBe(0);
    const binding = createRequire(import.meta.url)(path.join(out, 'libdeflate_gzip.node')) as { createCompressor(level: number): unknown };
    expect(binding.createCompressor(1)).toBeDefined();
  });

  it('without a compiler: one line, exit 0, no binding (not even an old one) left', () => {
    const out = path.join(scratch, 'no-cc');
    build(out);
    writeFileSync(path.join(out, 'libdeflate_gzip.node'), 'an old build');
    const run = build(out, { CC: path.join(scratch, 'no-such-compiler') });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^libdeflate binding not built \(.*no-such-compiler failed: .*\): CSVs will be deflated with zlib\n$/);
    expect(existsSync(path.join(out, 'libdeflate_gzip.node'))).toBe(false);
  });

  it('when CI requires the binding, a missing piece is an error', () => {
    const run = build(path.join(scratch, 'required'), { CC: path.join(scratch, 'no-such-compiler'), DBOPS_BUILD_NATIVE: 'require' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^error: libdeflate binding not built \(/);
  });
});
