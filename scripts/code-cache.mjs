#!/usr/bin/env node
// The last step of `npm run build`: V8's code cache for dist/launch/dbops.cjs (the CLI as one
// classic script, scripts/bundle.mjs --launch), which bin/launch-built.js compiles with it. The
// cache holds what V8 compiled while the CLI ran a command that does nothing (list-backups of an
// empty folder, no database): start-up, options, config, loader, reporting. Commands compile the
// rest as they go, as they would without it.
//
// A cache fits one Node and one script file: dbops.cjs.json records which (the Node, the script's
// path, size and modification time), and the launcher uses the cache only with those (else the
// chunks, as before). A failure here fails the build: a build without its
// cache still runs (from the chunks), but one that cannot make it hides a broken script.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const script = path.join(root, 'dist/launch/dbops.cjs');

if (process.argv[2] === '--child') {
  // Runs as `dbops list-backups --json` would, writing the cache as it exits.
  const { runScript } = await import(path.join(root, 'bin/launch-built.js'));
  process.argv.splice(2, 1);
  runScript(script, { writeCache: true });
} else {
  const scratch = mkdtempSync(path.join(tmpdir(), 'dbops-code-cache-'));
  try {
    // Nothing of the user's: no URL, no config, no .env; an empty project in a scratch folder.
    const env = { PATH: process.env.PATH ?? '', HOME: scratch, DBOPS_ROOT: scratch, DBOPS_SPOOL_DIR: path.join(scratch, 'spool') };
    const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', 'list-backups', '--json'], { cwd: scratch, env, encoding: 'utf8' });
    if (run.status !== 0 || !/"ok": true/.test(run.stdout)) {
      throw new Error(`code cache: dist/launch/dbops.cjs failed to run list-backups (exit ${run.status}): ${(run.stderr || run.stdout).trim().split('\n')[0]}`);
    }
    const bytes = statSync(`${script}.cache`).size;
    const { codeCacheStamp } = await import(path.join(root, 'bin/launch-built.js'));
    writeFileSync(`${script}.json`, `${JSON.stringify(codeCacheStamp(script))}\n`);
    // stderr: `npm pack --json` runs the build and prints its JSON on stdout.
    process.stderr.write(`code cache: ${(bytes / 1024 / 1024).toFixed(1)} MB for ${process.version} (dist/launch/dbops.cjs.cache)\n`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
