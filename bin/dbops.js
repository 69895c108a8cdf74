#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('dbops: not built yet (dist/ is missing). Run `npm install` or `npm run build` in the dbops folder.\n');
  process.exit(2);
}
await import(main.href);
