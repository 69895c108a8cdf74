// Runs a module compiled into dist/ (npm install's prepare script, or npm run build). Where there
// is no dist/ — a plugin installed by Claude Code, which copies the repository and runs nothing —
// the CLI runs from the committed one-file bundle instead (scripts/bundle.mjs says why).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function launchBuilt(name, relative, bundled) {
  const target = new URL(`../dist/${relative}`, import.meta.url);
  if (existsSync(fileURLToPath(target))) {
    await import(target.href);
    return;
  }
  const bundle = bundled === undefined ? undefined : new URL(`../.claude-plugin/bundle/${bundled}`, import.meta.url);
  if (bundle !== undefined && existsSync(fileURLToPath(bundle))) {
    await import(bundle.href);
    return;
  }
  process.stderr.write(`${name}: not built yet (dist/ is missing). Run \`npm install\` or \`npm run build\` in the dbops folder.\n`);
  process.exit(2);
}
