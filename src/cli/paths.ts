import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where commands/, skills/ and package.json live: the dbops package itself, whatever the working
 * directory. Found by walking up from this module rather than by a fixed '../..', because the
 * same code runs from dist/cli/ (npm), from src/cli/ (tests) and from the one-file bundle in
 * .claude-plugin/bundle/ (a plugin install, which never runs npm install).
 */
export const PACKAGE_ROOT = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && existsSync(path.join(dir, 'commands'))) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'dbops') return dir;
      } catch {
        // An unreadable package.json on the way up is not ours: keep walking.
      }
    }
    if (path.dirname(dir) === dir) return path.resolve(start, '../..');
  }
}
