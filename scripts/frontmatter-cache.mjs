#!/usr/bin/env node
// The last step of `npm run build`: dist/frontmatter-cache.json, gray-matter's parse of every
// commands/ and skills/ file keyed by its text's sha256, so a command starts without loading a
// YAML library for files that have not changed since the build (src/loader/frontmatter-cache.ts).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { writeFrontmatterCache } = await import(path.join(root, 'dist/loader/frontmatter-cache.js'));
await writeFrontmatterCache(root);
