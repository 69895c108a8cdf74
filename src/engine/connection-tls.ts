import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { DbopsError } from './errors.js';

// TLS for dbops's own connection (the one that streams table data, auth.users hashes included),
// with libpq's sslmode meanings. node-postgres knows only "TLS or not", so the two modes that
// try one way and then the other (prefer, allow) are done here, as libpq does them: one attempt,
// and a second only when the server refuses the first. With no sslmode anywhere, a server on
// this machine gets libpq's own default (prefer) and any other host `require`: a password and
// table data should not cross a network in clear because nobody wrote ?sslmode.

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** A Unix socket, localhost, 127.0.0.0/8 or ::1: traffic that never leaves the machine. */
export function isLocalHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare.startsWith('/') || bare.toLowerCase() === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(bare);
}

/** The mode to use: the one given (checked before any connection is tried), else the default for the host. */
export function resolveSslmode(given: string | undefined, host: string, source: string): SslMode {
  if (given === undefined) return isLocalHost(host) ? 'prefer' : 'require';
  if (!(SSL_MODES as readonly string[]).includes(given)) {
    throw new DbopsError('URL_INVALID', `The sslmode "${given.slice(0, 30)}" for the connection from ${source} is not one of ${SSL_MODES.join(', ')}.`, {
      hint: 'Use sslmode=require (encrypted), verify-full (encrypted, server certificate checked) or disable (local servers only).',
    });
  }
  return given as SslMode;
}

/** node-postgres `ssl` settings for each attempt, in order. */
export function tlsAttempts(mode: SslMode, params: Readonly<Record<string, string>>): Array<false | ConnectionOptions> {
  const files = tlsFiles(params);
  const encryptedOnly: ConnectionOptions = { rejectUnauthorized: false, ...files };
  switch (mode) {
    case 'disable':
      return [false];
    case 'allow':
      return [false, encryptedOnly];
    case 'prefer':
      return [encryptedOnly, false];
    case 'require':
      // libpq: with a root certificate given, require checks the chain as verify-ca does.
      return [files.ca === undefined ? encryptedOnly : verifyChain(files)];
    case 'verify-ca':
      return [verifyChain(files)];
    case 'verify-full':
      return [{ rejectUnauthorized: true, ...files }];
  }
}

/** Whether a failed attempt is the server refusing that way, so the next attempt may be tried. */
export function refusedThisWay(error: unknown): boolean {
  const err = error as { code?: string; message?: string };
  const message = err.message ?? '';
  // prefer: the server answered the TLS request with 'N'.
  if (/does not support SSL connections/i.test(message)) return true;
  // allow: pg_hba.conf accepts this client only over TLS ("hostssl"): "no pg_hba.conf entry … no encryption".
  return err.code === '28000' && /no encryption|SSL off/i.test(message);
}

function verifyChain(files: ConnectionOptions): ConnectionOptions {
  // verify-ca: the certificate must chain to a trusted root; the name in it is not compared.
  return { rejectUnauthorized: true, ...files, checkServerIdentity: () => undefined };
}

function tlsFiles(params: Readonly<Record<string, string>>): ConnectionOptions {
  const files: ConnectionOptions = {};
  const read = (key: string) => {
    try {
      return readFileSync(params[key]!);
    } catch (error) {
      throw new DbopsError('URL_INVALID', `Cannot read ${key} ${params[key]}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`);
    }
  };
  // "system" is libpq's word for the system's trusted roots, which is what Node uses by default.
  if (params.sslrootcert !== undefined && params.sslrootcert !== 'system') files.ca = read('sslrootcert');
  if (params.sslcert !== undefined) files.cert = read('sslcert');
  if (params.sslkey !== undefined) files.key = read('sslkey');
  return files;
}
