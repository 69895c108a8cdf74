import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DbopsError } from './errors.js';

// The optional libdeflate binding (src/native/libdeflate_gzip.c, built by `npm run build` into
// dist/native/ when a C compiler and libdeflate are there; scripts/build-native.mjs). Undefined
// when it is not built or does not load — a plugin install, an npm install on a machine
// without libdeflate, DBOPS_DEFLATE=zlib —: parallel-gzip then deflates with zlib.
// DBOPS_DEFLATE=libdeflate makes a missing binding an error instead (deflateChoice).

export interface Libdeflate {
  createCompressor(level: number): LibdeflateCompressor;
  gzipBound(compressor: LibdeflateCompressor, bytes: number): number;
  /** input as one gzip member at the start of output; resolves to its length. */
  gzip(compressor: LibdeflateCompressor, input: Buffer, output: Buffer): Promise<number>;
  /** The first gzip member of input into output: [status, input bytes used, output bytes written]. */
  gunzip(input: Buffer, output: Buffer): Promise<[status: number, inputUsed: number, outputWritten: number]>;
}

/** libdeflate_result values gunzip() returns. */
export const LIBDEFLATE_SUCCESS = 0;
export const LIBDEFLATE_BAD_DATA = 1;
export const LIBDEFLATE_INSUFFICIENT_SPACE = 3;

declare const compressorBrand: unique symbol;
export type LibdeflateCompressor = { readonly [compressorBrand]: true };

const BINDING = path.join('dist', 'native', 'libdeflate_gzip.node');

let loaded: { binding: Libdeflate | undefined } | undefined;

/** The binding from the package this module belongs to (dist/, the launch chunks or src/ under tests). */
function bindingFile(): string | undefined {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)), up = 0; up < 5; up++, dir = path.dirname(dir)) {
    const file = path.join(dir, BINDING);
    if (existsSync(file)) return file;
  }
  return undefined;
}

function loadBinding(): Libdeflate | undefined {
  if (loaded === undefined) {
    const file = bindingFile();
    let binding: Libdeflate | undefined;
    try {
      binding = file === undefined ? undefined : (createRequire(import.meta.url)(file) as Libdeflate);
    } catch {
      // Built elsewhere, or libdeflate.so.0 missing here: zlib does the same job, slower.
      binding = undefined;
    }
    loaded = { binding };
  }
  return loaded.binding;
}

/**
 * Which deflate the CSVs go through, as DBOPS_DEFLATE asks: unset, libdeflate where the binding
 * loads and zlib elsewhere; `zlib`; `libdeflate`, an error where it does not load. Backup and
 * restore call it first, so a wrong value stops them before anything is done.
 */
export function deflateChoice(env: NodeJS.ProcessEnv = process.env): 'libdeflate' | 'zlib' {
  const asked = env.DBOPS_DEFLATE?.trim() ?? '';
  if (asked !== '' && asked !== 'zlib' && asked !== 'libdeflate') {
    throw new DbopsError(
      'OPTION_INVALID',
      `DBOPS_DEFLATE must be zlib or libdeflate (got "${asked.slice(0, 20)}"); unset, libdeflate is used where it is built.`,
    );
  }
  if (asked === 'zlib') return 'zlib';
  if (loadBinding() !== undefined) return 'libdeflate';
  if (asked === 'libdeflate') {
    throw new DbopsError(
      'OPTION_INVALID',
      'DBOPS_DEFLATE=libdeflate, but the libdeflate binding is not built here: apt-get install libdeflate-dev, then npm run build (or unset DBOPS_DEFLATE to use zlib).',
    );
  }
  return 'zlib';
}

/** The binding when DBOPS_DEFLATE lets it be used and it loads. */
export function libdeflate(env: NodeJS.ProcessEnv = process.env): Libdeflate | undefined {
  return deflateChoice(env) === 'libdeflate' ? loadBinding() : undefined;
}
