import { backupDb } from './backup-db.js';
import type { CommandBinding } from './binding.js';
import { history } from './history.js';
import { listBackupsCommand, pruneBackupsCommand, verifyBackupCommand } from './lifecycle.js';
import { restoreDb } from './restore-db.js';

/** Every command the engine offers; the loader pairs each with its commands/<name>.md. */
export const BINDINGS: readonly CommandBinding[] = [backupDb, restoreDb, listBackupsCommand, verifyBackupCommand, pruneBackupsCommand, history];
