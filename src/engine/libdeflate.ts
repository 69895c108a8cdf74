import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The optional libdeflate binding (src/native/libdeflate_gzip.c, built by `npm run build` into
// dist/native/ when a C compiler and libdeflate are there; scripts/build-native.mjs). Undefined
// when it is not built or does not load — a plugin install, an npm install on a machine
// without libdeflate, DBOPS_DEFLATE=zlib —: parallel-gzip then deflates with zlib.

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

export function libdeflate(env: NodeJS.ProcessEnv = process.env): Libdeflate | undefined {
  if (env.DBOPS_DEFLATE === 'zlib') return undefined;
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
