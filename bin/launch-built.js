// Runs a module compiled into dist/ (npm install's prepare script, or npm run build). Where there
// is no dist/ — a plugin installed by Claude Code, which copies the repository and runs nothing —
// the CLI runs from the committed one-file bundle instead (scripts/bundle.mjs says why).
//
// CommonJS (bin/package.json), as is bin/dbops.js: Node starts a CommonJS entry without setting
// up its ES module loader, ~8 ms and ~135 first-touched pages less on a 2-core VM (an empty .cjs
// against an empty .mjs, perf stat -r 20). The loader comes up when an ES module is imported.
'use strict';
const { existsSync, readFileSync, statSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const vm = require('node:vm');

/** A file of this package, from bin/. */
const packageFile = (relative) => path.join(__dirname, '..', relative);

/** Where npm run build also writes the CLI as a few bundled chunks (scripts/bundle.mjs --launch). */
const CHUNKED_CLI = 'cli/main.js';

/**
 * What runs no command (src/cli/overview.ts: the overview, the version) runs from a small script
 * of its own (dist/launch/overview.cjs), not the CLI's script and its cache (--help measured 105
 * -> 137 ms through those), and from the chunks where it leaves the work to main().
 */
const OVERVIEW = new Set([undefined, '--help', '-h', 'help', '--version', '-v', 'version']);

/** What runs from the chunks though the script is there: the MCP server is not in the script (scripts/bundle.mjs). */
const ON_CHUNKS = new Set([...OVERVIEW, 'mcp']);

async function launchBuilt(name, relative, bundled) {
  const target = packageFile(`dist/${relative}`);
  if (existsSync(target)) {
    if (relative === CHUNKED_CLI && OVERVIEW.has(process.argv[2])) {
      const overview = packageFile('dist/launch/overview.cjs');
      if (builtAfter(overview, target)) {
        const exitCode = require(overview).printQuickOverview(process.argv.slice(2), packageFile('.'));
        if (exitCode !== undefined) {
          process.exitCode = exitCode;
          return;
        }
      }
    }
    if (relative === CHUNKED_CLI && !ON_CHUNKS.has(process.argv[2])) {
      const script = packageFile('dist/launch/dbops.cjs');
      if (codeCacheFits(script) && builtAfter(script, target)) {
        runScript(script);
        return;
      }
    }
    const chunked = relative === CHUNKED_CLI ? packageFile('dist/launch/main.js') : undefined;
    await import(pathToFileURL(chunked !== undefined && builtAfter(chunked, target) ? chunked : target).href);
    return;
  }
  const bundle = bundled === undefined ? undefined : packageFile(`.claude-plugin/bundle/${bundled}`);
  if (bundle !== undefined && existsSync(bundle)) {
    await import(pathToFileURL(bundle).href);
    return;
  }
  process.stderr.write(`${name}: not built yet (dist/ is missing). Run \`npm install\` or \`npm run build\` in the dbops folder.\n`);
  process.exit(2);
}

/**
 * The chunks load faster (a few files, not ~340 modules) but only `npm run build` writes them; a bare `tsc`
 * (which rewrites every file of dist/) leaves them older than the modules, and then the modules run.
 */
function builtAfter(chunked, target) {
  try {
    return statSync(chunked).mtimeMs >= statSync(target).mtimeMs;
  } catch {
    return false;
  }
}

/**
 * The CLI as one classic script compiled with V8's code cache (scripts/code-cache.mjs writes it at
 * build time): most of what a command compiles on start comes ready-made (a no-op command measured
 * ~30 ms faster than from the chunks). A cache only another Node made would be thrown away by V8,
 * and compiling the whole script without one is slower than the chunks: then the chunks run. V8
 * checks a cache against its source's length only, and keeps the path it was made at in stack
 * traces: so the script's size, modification time and path must be the ones the cache was made
 * for (a script rebuilt, edited or moved — a packed and installed copy — runs the chunks).
 */
function codeCacheFits(script) {
  try {
    const made = JSON.parse(readFileSync(`${script}.json`, 'utf8'));
    const now = statSync(script);
    return (
      made.node === process.version &&
      made.arch === process.arch &&
      made.script === script &&
      made.size === now.size &&
      made.mtimeMs === now.mtimeMs &&
      existsSync(`${script}.cache`)
    );
  } catch {
    return false;
  }
}

/** dist/launch/dbops.cjs is one function (scripts/bundle.mjs writes it so), strict as the modules were. */
const SCRIPT_HEAD = "(function (exports, require, module, __filename, __dirname, __dbopsImportMetaUrl) {'use strict';";
const SCRIPT_TAIL = '\n})';

/** What dbops.cjs.json records of the script a cache was made for (scripts/code-cache.mjs). */
function codeCacheStamp(script) {
  const made = statSync(script);
  return { node: process.version, arch: process.arch, script, size: made.size, mtimeMs: made.mtimeMs };
}

/**
 * Runs the script as Node runs a CommonJS module: the file is one function (scripts/bundle.mjs
 * writes it so) given require, module, __filename, __dirname, plus the import.meta.url its ES
 * modules were written with. With `writeCache`, the code V8 compiled by the time the process
 * exits is written as the cache.
 */
function runScript(script, { writeCache = false } = {}) {
  const cacheFile = `${script}.cache`;
  // ASCII only (scripts/bundle.mjs checks): read without UTF-8 decoding, into a one-byte string.
  const source = readFileSync(script, 'latin1');
  const compiled = new vm.Script(source, {
    filename: script,
    cachedData: writeCache ? undefined : readFileSync(cacheFile),
  });
  if (writeCache) process.once('exit', () => writeFileSync(cacheFile, compiled.createCachedData()));
  // A script has no import() of its own (src/engine/import-package.ts).
  globalThis[Symbol.for('dbops.importPackage')] = (name) => import(name);
  const module = { exports: {} };
  compiled.runInThisContext()(module.exports, createRequire(script), module, script, path.dirname(script), pathToFileURL(script).href);
}

exports.launchBuilt = launchBuilt;
exports.codeCacheFits = codeCacheFits;
exports.codeCacheStamp = codeCacheStamp;
exports.runScript = runScript;
exports.SCRIPT_HEAD = SCRIPT_HEAD;
exports.SCRIPT_TAIL = SCRIPT_TAIL;
