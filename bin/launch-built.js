// Runs a module compiled into dist/ by `npm install` (the prepare script), or says how to build it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function launchBuilt(name, relative) {
  const target = new URL(`../dist/${relative}`, import.meta.url);
  if (!existsSync(fileURLToPath(target))) {
    process.stderr.write(`${name}: not built yet (dist/ is missing). Run \`npm install\` or \`npm run build\` in the dbops folder.\n`);
    process.exit(2);
  }
  await import(target.href);
}
