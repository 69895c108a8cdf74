import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// What bin/dbops.js runs: the bundled chunks npm run build writes (dist/launch/) when they are at
// least as new as the compiled modules, the modules otherwise (a bare tsc leaves the chunks
// stale), the committed plugin bundle when there is no dist/ at all.

const ROOT = path.resolve(import.meta.dirname, '../..');
const scratch = mkdtempSync(path.join(tmpdir(), 'dbops-launch-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A package tree with the real launcher and stand-ins that say which of them ran. */
function tree(files: Record<string, number>): string {
  const dir = mkdtempSync(path.join(scratch, 'pkg-'));
  mkdirSync(path.join(dir, 'bin'));
  copyFileSync(path.join(ROOT, 'bin/launch-built.js'), path.join(dir, 'bin/launch-built.js'));
  writeFileSync(path.join(dir, 'bin/run.mjs'), "import { launchBuilt } from './launch-built.js';\nawait launchBuilt('dbops', 'cli/main.js', 'dbops.mjs');\n");
  for (const [file, mtime] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), `process.stdout.write(${JSON.stringify(file)});\n`);
    utimesSync(path.join(dir, file), mtime, mtime);
  }
  return dir;
}

const ran = (dir: string) => execFileSync(process.execPath, [path.join(dir, 'bin/run.mjs')], { encoding: 'utf8' });

describe('launchBuilt', () => {
  it('runs the chunks npm run build wrote after the modules', () => {
    expect(ran(tree({ 'dist/cli/main.js': 1000, 'dist/launch/main.js': 1001 }))).toBe('dist/launch/main.js');
  });

  it('runs the modules when a later tsc left the chunks behind', () => {
    expect(ran(tree({ 'dist/cli/main.js': 2000, 'dist/launch/main.js': 1000 }))).toBe('dist/cli/main.js');
  });

  it('runs the modules when there are no chunks', () => {
    expect(ran(tree({ 'dist/cli/main.js': 1000 }))).toBe('dist/cli/main.js');
  });

  it('runs the committed plugin bundle when nothing was built', () => {
    expect(ran(tree({ '.claude-plugin/bundle/dbops.mjs': 1000 }))).toBe('.claude-plugin/bundle/dbops.mjs');
  });
});
