// Runs a module compiled into dist/ (npm install's prepare script, or npm run build). Where there
// is no dist/ — a plugin installed by Claude Code, which copies the repository and runs nothing —
// the CLI runs from the committed one-file bundle instead (scripts/bundle.mjs says why).
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where npm run build also writes the CLI as a few bundled chunks (scripts/bundle.mjs --launch). */
const CHUNKED_CLI = 'cli/main.js';

export async function launchBuilt(name, relative, bundled) {
  const target = new URL(`../dist/${relative}`, import.meta.url);
  if (existsSync(fileURLToPath(target))) {
    const chunked = relative === CHUNKED_CLI ? new URL('../dist/launch/main.js', import.meta.url) : undefined;
    await import((chunked !== undefined && builtAfter(chunked, target) ? chunked : target).href);
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

/**
 * The chunks load faster (a few files, not ~340 modules) but only `npm run build` writes them; a bare `tsc`
 * (which rewrites every file of dist/) leaves them older than the modules, and then the modules run.
 */
function builtAfter(chunked, target) {
  try {
    return statSync(chunked).mtimeMs >= statSync(target).mtimeMs;
  } catch {
    return false;
  }
}
