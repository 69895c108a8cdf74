#!/usr/bin/env node
// npm run demo: the compiled demo (src/demo/), built by `npm install`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const demo = new URL('../dist/demo/main.js', import.meta.url);
if (!existsSync(fileURLToPath(demo))) {
  process.stderr.write('dbops demo: not built yet (dist/ is missing). Run `npm install` or `npm run build` first.\n');
  process.exit(2);
}
await import(demo.href);
