import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module of bin/, without types
import { SCRIPT_HEAD, SCRIPT_TAIL } from '../../bin/launch-built.js';

// What bin/dbops.js runs: the one-script build with V8's code cache (dist/launch/dbops.cjs) when
// this Node made its cache, for a command; the bundled chunks npm run build writes (dist/launch/)
// when they are at least as new as the compiled modules, the modules otherwise (a bare tsc leaves the chunks
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

const ran = (dir: string, ...args: string[]) => execFileSync(process.execPath, [path.join(dir, 'bin/run.mjs'), ...args], { encoding: 'utf8' });

/** The one-script build beside the chunks: the script, a cache (V8 throws away one it cannot use), and what it was made for. */
function withScript(dir: string, mtime: number, node = process.version, script?: string): string {
  const file = path.join(dir, 'dist/launch/dbops.cjs');
  writeFileSync(file, `${SCRIPT_HEAD}${script ?? 'process.stdout.write("dist/launch/dbops.cjs");'}${SCRIPT_TAIL}`);
  writeFileSync(`${file}.cache`, 'not a cache');
  utimesSync(file, mtime, mtime);
  const made = statSync(file);
  writeFileSync(`${file}.json`, JSON.stringify({ node, arch: process.arch, script: file, size: made.size, mtimeMs: made.mtimeMs }));
  return dir;
}

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

  it('runs the one-script build (with its code cache) when this Node made the cache after the modules were built', () => {
    const dir = withScript(tree({ 'dist/cli/main.js': 1000, 'dist/launch/main.js': 1001 }), 1001);
    expect(ran(dir, 'list-backups')).toBe('dist/launch/dbops.cjs');
    // The overview and the version load a few kilobytes of the chunks instead (where there is no overview.cjs).
    expect(ran(dir, '--help')).toBe('dist/launch/main.js');
    expect(ran(dir)).toBe('dist/launch/main.js');
    expect(ran(dir, '--version')).toBe('dist/launch/main.js');
    // The MCP server is not in the script (scripts/bundle.mjs leaves it out).
    expect(ran(dir, 'mcp')).toBe('dist/launch/main.js');
  });

  it('runs the chunks when the cache is from another Node, or the script is older than the modules, or has no cache', () => {
    expect(ran(withScript(tree({ 'dist/cli/main.js': 1000, 'dist/launch/main.js': 1001 }), 1001, 'v0.0.1'), 'list-backups')).toBe('dist/launch/main.js');
    expect(ran(withScript(tree({ 'dist/cli/main.js': 2000, 'dist/launch/main.js': 1001 }), 1001), 'list-backups')).toBe('dist/cli/main.js');
    const uncached = withScript(tree({ 'dist/cli/main.js': 1000, 'dist/launch/main.js': 1001 }), 1001);
    rmSync(path.join(uncached, 'dist/launch/dbops.cjs.cache'));
    expect(ran(uncached, 'list-backups')).toBe('dist/launch/main.js');
  });

  it('runs the chunks when the script is not the one the cache was made for: edited to the same length, or moved', () => {
    // V8 checks a cache against its source's length only: an edit of the same length would run the old code.
    const edited = withScript(tree({ 'dist/cli/main.js': 1000, 'dist/launch/main.js': 1001 }), 1001);
    const script = path.join(edited, 'dist/launch/dbops.cjs');
    writeFileSync(script, `${SCRIPT_HEAD}process.stdout.write("dist/launch/dbops.CJS");${SCRIPT_TAIL}`);
    utimesSync(script, 1002, 1002);
    expect(ran(edited, 'list-backups')).toBe('dist/launch/main.js');
    // A copy elsewhere (a packed and installed package) keeps the old path in V8's cache.
    const moved = withScript(tree({ 'dist/cli/main.js': 1000, 'dist/launch/main.js': 1001 }), 1001);
    const stamp = path.join(moved, 'dist/launch/dbops.cjs.json');
    writeFileSync(stamp, readFileSync(stamp, 'utf8').replace(moved, path.join(scratch, 'elsewhere')));
    expect(ran(moved, 'list-backups')).toBe('dist/launch/main.js');
  });

  it('gives the script what a module has: require, __filename, import.meta.url, strict mode, and an import() of packages', () => {
    const dir = tree({ 'dist/cli/main.js': 1000, 'dist/launch/main.js': 1001 });
    const probe = [
      "const os = require('node:os');",
      'let strict = false; try { undeclared = 1; } catch { strict = true; }',
      "globalThis[Symbol.for('dbops.importPackage')]('node:path').then((p) => process.stdout.write(JSON.stringify({",
      '  require: typeof os.cpus, filename: __filename, url: __dbopsImportMetaUrl, strict, imported: typeof p.join })));',
    ].join('\n');
    const out = JSON.parse(ran(withScript(dir, 1001, process.version, probe), 'list-backups')) as Record<string, unknown>;
    const file = path.join(dir, 'dist/launch/dbops.cjs');
    expect(out).toEqual({ require: 'function', filename: file, url: pathToFileURL(file).href, strict: true, imported: 'function' });
  });

  it('prints the overview and the version from dist/launch/overview.cjs, and leaves to the chunks what it cannot print', () => {
    const dir = withScript(tree({ 'dist/cli/main.js': 1000, 'dist/launch/main.js': 1001 }), 1001);
    const overview = path.join(dir, 'dist/launch/overview.cjs');
    // A stand-in that prints the overview unless asked for the version, which it leaves to main().
    writeFileSync(
      overview,
      "exports.printQuickOverview = (argv, root) => { if (argv[0] === '--version') return undefined; process.stdout.write(`overview.cjs ${argv.join(' ')} ${root}`); return argv.length === 0 ? 2 : 0; };\n",
    );
    utimesSync(overview, 1001, 1001);
    expect(ran(dir, '--help')).toBe(`overview.cjs --help ${dir}`);
    expect(() => ran(dir)).toThrow(expect.objectContaining({ status: 2, stdout: `overview.cjs  ${dir}` }));
    expect(ran(dir, '--version')).toBe('dist/launch/main.js');
    // A command never goes through it.
    expect(ran(dir, 'list-backups')).toBe('dist/launch/dbops.cjs');
    // Older than the modules (a bare tsc since): not used.
    utimesSync(overview, 999, 999);
    expect(ran(dir, '--help')).toBe('dist/launch/main.js');
  });

  it("the built overview.cjs prints what the CLI's main() prints, with the same exit code", () => {
    const viaMain = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'dist/cli/main.js'), ...args], { encoding: 'utf8' });
    const viaOverview = (...args: string[]) =>
      spawnSync(
        process.execPath,
        [
          '-e',
          `process.exitCode = require(${JSON.stringify(path.join(ROOT, 'dist/launch/overview.cjs'))}).printQuickOverview(process.argv.slice(1), ${JSON.stringify(ROOT)})`,
          // After --, the arguments are the script's, not Node's (--help, --version).
          '--',
          ...args,
        ],
        { encoding: 'utf8' },
      );
    for (const args of [['--help'], [], ['--version'], ['-h']]) {
      const [main, overview] = [viaMain(...args), viaOverview(...args)];
      expect(overview.stdout, args.join(' ')).toBe(main.stdout);
      expect(overview.status, args.join(' ')).toBe(main.status);
    }
  });

  it('runs the committed plugin bundle when nothing was built', () => {
    expect(ran(tree({ '.claude-plugin/bundle/dbops.mjs': 1000 }))).toBe('.claude-plugin/bundle/dbops.mjs');
  });
});
