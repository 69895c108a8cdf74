import { backupDb } from './backup-db.js';
import type { CommandBinding } from './binding.js';
import { history } from './history.js';
import { restoreDb } from './restore-db.js';

/** Every command the engine offers; the loader pairs each with its commands/<name>.md. */
export const BINDINGS: readonly CommandBinding[] = [backupDb, restoreDb, history];
