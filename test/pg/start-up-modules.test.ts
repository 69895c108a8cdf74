import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempDirs } from '../support/backups.js';
import { runCli } from '../support/cli.js';
import { useTestDatabases } from '../support/databases.js';

// What a command loads that it does not need is start-up time on every run (README, Performance).
// Node's own modules a run loaded are listed by a preload script at exit. Guarded here: Node's
// fetch implementation (undici), which pg's Cloudflare Worker probe loaded on Node 20 (~20 ms)
// until the bundles answered the probe (scripts/bundle.mjs); and functions compiled from strings,
// which zod made for every object schema it parsed until its JIT was turned off before the first
// schema was built (src/cli/zod-settings.ts).

const dbs = useTestDatabases('start_up');
const tempDir = useTempDirs();

async function nodeModulesLoaded(args: string[], env: Record<string, string>): Promise<string[]> {
  const dir = await tempDir();
  const preload = path.join(dir, 'preload.cjs');
  const list = path.join(dir, 'modules.txt');
  await writeFile(
    preload,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).join('\\n')));\n`,
  );
  const run = await runCli(args, { env: { ...env, NODE_OPTIONS: `--require ${preload}` } });
  expect(run.exitCode, run.stderr).toBe(0);
  return (await readFile(list, 'utf8')).split('\n');
}

describe('start-up', () => {
  it('a command that connects (history --url) does not load Node’s fetch (undici)', async () => {
    const db = await dbs.create();
    const loaded = await nodeModulesLoaded(['history', '--url', db.url, '--json'], { DBOPS_SPOOL_DIR: await tempDir() });
    // The preload ran, and pg did connect (net is what a connection needs).
    expect(loaded).toContain('NativeModule net');
    expect(loaded.filter((m) => m.includes('undici'))).toEqual([]);
  });

  it('a command compiles no function from a string (zod builds its schemas without its JIT)', async () => {
    const dir = await tempDir();
    const preload = path.join(dir, 'count-functions.cjs');
    const count = path.join(dir, 'count.txt');
    // Every `new Function(…)` goes through the global Function constructor (zod's JIT does).
    await writeFile(
      preload,
      [
        'let made = 0;',
        'globalThis.Function = new Proxy(Function, { construct: (F, args) => (made++, Reflect.construct(F, args)), apply: (F, self, args) => (made++, Reflect.apply(F, self, args)) });',
        `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(count)}, String(made)));`,
      ].join('\n'),
    );
    const run = await runCli(['list-backups', '--json'], { env: { DBOPS_SPOOL_DIR: await tempDir(), NODE_OPTIONS: `--require ${preload}` } });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(await readFile(count, 'utf8')).toBe('0');
  });
});
