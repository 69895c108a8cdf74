#!/usr/bin/env node
// npm run bench: the compiled benchmark (src/bench/), built by `npm install`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bench = new URL('../dist/bench/main.js', import.meta.url);
if (!existsSync(fileURLToPath(bench))) {
  process.stderr.write('dbops bench: not built yet (dist/ is missing). Run `npm install` or `npm run build` first.\n');
  process.exit(2);
}
await import(bench.href);
