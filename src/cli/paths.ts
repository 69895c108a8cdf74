import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where commands/, skills/ and package.json live: the dbops package itself, whatever the working directory. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
