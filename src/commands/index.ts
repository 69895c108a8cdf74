import type { AnyCommand, CommandModules } from './command.js';

// Every command, by the name of its Markdown file in commands/, as a module loaded on first use:
// the CLI loads the one it runs (its schemas are most of what a command builds on start), the
// MCP server loads them all. The CLI, slash lines and the MCP server are generic over this table.
// A new command is a module here and a Markdown file of the same name in commands/.

export const COMMAND_MODULES: CommandModules = {
  'backup-db': async () => (await import('./backup-db.js')).backupDb as unknown as AnyCommand,
  'restore-db': async () => (await import('./restore-db.js')).restoreDb as unknown as AnyCommand,
  'list-backups': async () => (await import('./list-backups.js')).listBackups as unknown as AnyCommand,
  'verify-backup': async () => (await import('./verify-backup.js')).verifyBackup as unknown as AnyCommand,
  'prune-backups': async () => (await import('./prune-backups.js')).pruneBackups as unknown as AnyCommand,
  'push-backup': async () => (await import('./push-backup.js')).pushBackup as unknown as AnyCommand,
  history: async () => (await import('./history.js')).history as unknown as AnyCommand,
};

/** Every command module, loaded (tests, and what needs the whole surface at once). */
export async function loadAllCommands(modules: CommandModules = COMMAND_MODULES): Promise<AnyCommand[]> {
  return Promise.all(Object.values(modules).map((load) => load()));
}
