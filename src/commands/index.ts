import { backupDb } from './backup-db.js';
import type { AnyCommand } from './command.js';
import { history } from './history.js';
import { listBackups } from './list-backups.js';
import { pruneBackups } from './prune-backups.js';
import { pushBackup } from './push-backup.js';
import { restoreDb } from './restore-db.js';
import { verifyBackup } from './verify-backup.js';

// Every command; the CLI, slash lines and the MCP server are generic over this list. A new
// command is a module here and a Markdown file of the same name in commands/.

export const COMMANDS: readonly AnyCommand[] = [backupDb, restoreDb, listBackups, verifyBackup, pruneBackups, pushBackup, history] as unknown as AnyCommand[];
