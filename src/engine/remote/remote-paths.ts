import { cutShort, DbopsError } from '../errors.js';
import type { Remote } from './resolve-remote.js';

// Every object key dbops uses in a bucket, computed here and nowhere else.
// Example, remote s3://acme-backups/team/prod, backup 20261123_071502_prod_pre-upgrade:
//   team/prod/20261123_071502_prod_pre-upgrade/dbops-manifest         the manifest, written last
//   team/prod/20261123_071502_prod_pre-upgrade/3f9c…e1 (64 hex)       one object per file
// The folder name is the only name the bucket shows: file names are HMACs (encryption-key.ts),
// and what each object holds only the key-holder can read (cipher-stream.ts).

export const MANIFEST_OBJECT = 'dbops-manifest';

// Folder names as backups and the old scripts make them (20261123_071502_prod_label,
// prod_2026-11-23T07-15-02): one path segment, never hidden, nothing a shell or URL mangles.
const FOLDER = /^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,199}$/;

export function isFolderName(folder: string): boolean {
  return FOLDER.test(folder) && !folder.includes('..');
}

export function checkFolderName(folder: string): string {
  if (!isFolderName(folder)) {
    throw new DbopsError('REMOTE_INVALID', `"${cutShort(folder, 80)}" is not a backup folder name (letters, digits, _ . : + - only, one path segment).`);
  }
  return folder;
}

/** "team/prod/" or "" : what every key of this remote starts with. */
export function remoteRootKey(remote: Remote): string {
  return remote.prefix === '' ? '' : `${remote.prefix}/`;
}

/** "team/prod/<folder>/" */
export function folderKey(remote: Remote, folder: string): string {
  return `${remoteRootKey(remote)}${checkFolderName(folder)}/`;
}

export function manifestKey(remote: Remote, folder: string): string {
  return `${folderKey(remote, folder)}${MANIFEST_OBJECT}`;
}

export function fileObjectKey(remote: Remote, folder: string, objectName: string): string {
  return `${folderKey(remote, folder)}${objectName}`;
}
