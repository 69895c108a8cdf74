#!/usr/bin/env node
// Part of `npm run build`: compiles src/native/libdeflate_gzip.c, the binding parallel-gzip uses
// to deflate CSVs with libdeflate (about half zlib's CPU time at level 1), into
// dist/native/libdeflate_gzip.node. Optional by design: without a C compiler, Node's headers or
// libdeflate (Debian: libdeflate-dev), it says so in one line and the build goes on; dbops then
// deflates with zlib, as it did before. `--require` (or DBOPS_BUILD_NATIVE=require, as CI sets)
// makes a missing piece an error.
//
// Why not node-gyp: it fetches Node's headers from nodejs.org when it does not find them, and
// one C file against one system library needs a single compiler call, not a project.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'src/native/libdeflate_gzip.c');
// `--out DIR` writes the binding elsewhere (the tests, which must not remove the one dist/ holds).
const outAt = process.argv.indexOf('--out');
const outdir = outAt >= 0 ? path.resolve(process.argv[outAt + 1]) : path.join(root, 'dist/native');
const target = path.join(outdir, 'libdeflate_gzip.node');
const required = process.argv.includes('--require') || process.env.DBOPS_BUILD_NATIVE === 'require';

function skip(reason) {
  rmSync(target, { force: true });
  const line = `libdeflate binding not built (${reason}): CSVs will be deflated with zlib`;
  if (required) {
    process.stderr.write(`error: ${line}\n`);
    process.exit(1);
  }
  process.stdout.write(`${line}\n`);
  process.exit(0);
}

// Node's headers: npm's nodedir setting, else the include/ folder beside the node binary
// (Debian's /usr/include/node, an official tarball's include/node).
const nodedirs = [process.env.npm_config_nodedir, path.resolve(path.dirname(process.execPath), '..')].filter(Boolean);
const includes = nodedirs.map((dir) => path.join(dir, 'include/node')).filter((dir) => existsSync(path.join(dir, 'node_api.h')));
if (includes.length === 0) skip(`Node's headers (node_api.h) not found under ${nodedirs.join(' or ')}`);

const compiler = process.env.CC ?? 'cc';
mkdirSync(outdir, { recursive: true });
try {
  // Written aside and renamed: a failed build never leaves a half-written binding behind.
  execFileSync(compiler, ['-O2', '-shared', '-fPIC', '-Wall', '-Wextra', '-Werror', `-I${includes[0]}`, '-o', `${target}.tmp`, source, '-ldeflate'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  renameSync(`${target}.tmp`, target);
} catch (error) {
  rmSync(`${target}.tmp`, { force: true });
  const stderr = String(error.stderr ?? error.message);
  skip(
    /libdeflate\.h|-ldeflate/.test(stderr)
      ? 'libdeflate is not installed: apt-get install libdeflate-dev'
      : `${compiler} failed: ${stderr.split('\n').find((l) => l.trim()) ?? error.message}`,
  );
}
