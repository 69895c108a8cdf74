import { createHmac, hkdfSync } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { cutShort, DbopsError } from '../errors.js';
import type { Remote } from './resolve-remote.js';

// The key a user holds for off-site copies, and the keys derived from it (HKDF-SHA256, one
// per purpose, so no key ever serves two jobs).
//
// The key is 32 random bytes, never a passphrase: a passphrase would need a slow KDF (scrypt)
// with a salt stored beside the copies, and the key id written in the clear (below) would let
// anyone holding the bucket test guesses offline. `openssl rand -hex 32` makes one.

export interface EncryptionKeys {
  /** 16 hex: written in every object's header, so a wrong key is told from a damaged object. */
  keyId: string;
  /** Master key for per-object keys (cipher-stream.ts derives one per object from its salt). */
  fileKey: Buffer;
  /** Keys the object names: a backup's file names (tables, schemas) never reach the bucket. */
  nameKey: Buffer;
  /** Where the key came from, for messages: a variable's or a file's name, never the key. */
  source: string;
}

const INFO = 'dbops remote v1 ';

export function deriveKeys(master: Buffer, source: string): EncryptionKeys {
  const derive = (purpose: string, length: number) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), INFO + purpose, length));
  return { keyId: derive('key id', 8).toString('hex'), fileKey: derive('files', 32), nameKey: derive('names', 32), source };
}

/**
 * The remote's encryption_key_file if configured, else DBOPS_ENCRYPTION_KEY, else the file
 * DBOPS_ENCRYPTION_KEY_FILE names. Messages name where the key came from and never show it.
 */
export function loadEncryptionKeys(remote: Pick<Remote, 'keyFile' | 'name'>, env: NodeJS.ProcessEnv, root: string): EncryptionKeys {
  if (remote.keyFile !== undefined)
    return deriveKeys(
      readKeyFile(path.resolve(root, expandHome(remote.keyFile, env)), `remotes.${remote.name}.encryption_key_file`),
      `key file ${remote.keyFile}`,
    );
  const inline = env.DBOPS_ENCRYPTION_KEY;
  if (inline !== undefined && inline !== '') return deriveKeys(parseKey(inline, 'DBOPS_ENCRYPTION_KEY'), 'DBOPS_ENCRYPTION_KEY');
  const file = env.DBOPS_ENCRYPTION_KEY_FILE;
  if (file !== undefined && file !== '')
    return deriveKeys(readKeyFile(path.resolve(root, expandHome(file, env)), 'DBOPS_ENCRYPTION_KEY_FILE'), `key file ${file}`);
  throw new DbopsError('ENCRYPTION_KEY_MISSING', 'Off-site copies are encrypted before they leave this machine, and no encryption key is set.');
}

/** 64 hex characters or base64 of exactly 32 bytes; surrounding whitespace (a trailing newline) ignored. */
export function parseKey(text: string, where: string): Buffer {
  const value = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(value)
    ? Buffer.from(value, 'hex')
    : /^[A-Za-z0-9+/_-]{43}=?$/.test(value)
      ? Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
      : undefined;
  if (bytes === undefined || bytes.length !== 32) {
    // Its length only: a mistyped key is still most of a key.
    throw new DbopsError(
      'ENCRYPTION_KEY_INVALID',
      `${where} is not a 32-byte key (it holds ${value.length} characters; expected 64 hex characters or 44 of base64).`,
    );
  }
  return bytes;
}

function readKeyFile(file: string, where: string): Buffer {
  let mode: number;
  let text: string;
  try {
    mode = statSync(file).mode;
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new DbopsError('ENCRYPTION_KEY_MISSING', `${where}: cannot read ${cutShort(file, 200)} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}).`);
  }
  // Like ssh with a private key: a key others can read is not a secret any more.
  if ((mode & 0o077) !== 0) {
    throw new DbopsError(
      'ENCRYPTION_KEY_INVALID',
      `${where}: ${cutShort(file, 200)} can be read by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it.`,
    );
  }
  return parseKey(text, `${where} (${cutShort(file, 200)})`);
}

function expandHome(file: string, env: NodeJS.ProcessEnv): string {
  return file.startsWith('~/') && env.HOME ? path.join(env.HOME, file.slice(2)) : file;
}

/**
 * The object name of one file of a backup: an HMAC of its path and content, so the bucket
 * shows neither the file's name nor anything about its content, while the same file pushed
 * again gets the same name (a resumed push finds it by listing) and a changed file a new one.
 */
export function objectName(keys: EncryptionKeys, file: { path: string; sha256: string; bytes: number }): string {
  return createHmac('sha256', keys.nameKey).update(`${file.path}\n${file.sha256}\n${file.bytes}`).digest('hex');
}
