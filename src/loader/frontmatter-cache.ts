import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod';
import { readArtifactSources } from './artifact-sources.js';
import type { ParsedFrontmatter } from './parse-frontmatter.js';

// What gray-matter made of each commands/ and skills/ file, keyed by the sha256 of the file's
// exact text, written by `npm run build` (scripts/frontmatter-cache.mjs) to
// dist/frontmatter-cache.json. A file whose text has no entry — edited since the build, or a
// root that was never built, as the plugin bundle's — is parsed as before. The cache holds the
// parse only: every load still validates the result with the current schemas.

export const FRONTMATTER_CACHE_FILE = path.join('dist', 'frontmatter-cache.json');

const cacheSchema = z.object({
  format: z.literal(1),
  entries: z.record(z.string().regex(/^[0-9a-f]{64}$/), z.object({ data: z.record(z.string(), z.unknown()), content: z.string() })),
});

export type FrontmatterCache = ReadonlyMap<string, ParsedFrontmatter>;

export function textDigest(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The root's cache, or an empty one when it is missing or unreadable (the loader then parses). */
export function readFrontmatterCache(root: string): FrontmatterCache {
  try {
    // Synchronous, as the files it stands for are read (artifact-sources.ts).
    const parsed = cacheSchema.parse(JSON.parse(readFileSync(path.join(root, FRONTMATTER_CACHE_FILE), 'utf8')));
    return new Map(Object.entries(parsed.entries));
  } catch {
    return new Map();
  }
}

/** Parses every file under the root and writes the cache (atomically); returns how many entries. */
export async function writeFrontmatterCache(root: string): Promise<number> {
  const { parseFrontmatter } = await import('./parse-frontmatter.js');
  const entries: Record<string, ParsedFrontmatter> = {};
  for (const source of readArtifactSources(root)) {
    if (source.text === undefined) continue;
    try {
      entries[textDigest(source.text)] = parseFrontmatter(source.text);
    } catch {
      // Invalid YAML stays out of the cache, so every load reports it.
    }
  }
  const file = path.join(root, FRONTMATTER_CACHE_FILE);
  await writeFile(`${file}.tmp`, `${JSON.stringify({ format: 1, entries })}\n`);
  await rename(`${file}.tmp`, file);
  return Object.keys(entries).length;
}
