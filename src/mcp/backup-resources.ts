import { open } from 'node:fs/promises';
import path from 'node:path';
import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { EngineContext } from '../engine/context.js';
import { DbopsError } from '../engine/errors.js';

// Backups as MCP resources, so a client can attach what a backup holds without a tool call:
// dbops://backups/<folder>/<file> for the three files that describe a backup. Only complete
// (valid) dbops backups are listed or read, only these files, and only up to a size a model can
// take: a folder or file name from the client is matched against the listing, never joined
// into a path unchecked.

const FILES = {
  'metadata.json': { mimeType: 'application/json', description: 'what the backup holds: source, mode, categories, tables, sizes, checksums' },
  'row_counts.json': { mimeType: 'application/json', description: 'rows per table at backup time (what a restore is verified against)' },
  'schema.sql': { mimeType: 'application/sql', description: 'the schema, as pg_dump --schema-only wrote it' },
} as const;
type FileName = keyof typeof FILES;

/** Past this a resource is cut, and says so: a schema of a few MB is more than any context holds. */
export const RESOURCE_MAX_BYTES = 1024 * 1024;

export function registerBackupResources(server: McpServer, context: () => EngineContext): void {
  const template = new ResourceTemplate('dbops://backups/{folder}/{file}', {
    list: async () => {
      const backups = await validBackups(context());
      return {
        resources: backups.flatMap((b) =>
          (Object.keys(FILES) as FileName[]).map((file) => ({
            uri: `dbops://backups/${encodeURIComponent(b.folder)}/${file}`,
            name: `${b.folder}/${file}`,
            description: `${b.folder}: ${FILES[file].description}`,
            mimeType: FILES[file].mimeType,
          })),
        ),
      };
    },
    complete: {
      folder: async () => (await validBackups(context())).map((b) => b.folder),
      file: () => Object.keys(FILES),
    },
  });
  server.registerResource(
    'backup-file',
    template,
    { title: 'Backup files', description: 'metadata.json, row_counts.json and schema.sql of each valid backup in the backups directory' },
    async (uri, variables) => {
      const folder = decodeURIComponent(String(variables.folder));
      const file = String(variables.file);
      if (!(file in FILES)) throw new DbopsError('USAGE', `No resource ${uri.href}: a backup's resources are ${Object.keys(FILES).join(', ')}.`);
      const backup = (await validBackups(context())).find((b) => b.folder === folder);
      if (backup === undefined) throw new DbopsError('BACKUP_NOT_FOUND', `No valid backup named "${folder.slice(0, 80)}" in the backups directory.`);
      return { contents: [{ uri: uri.href, mimeType: FILES[file as FileName].mimeType, text: await readCapped(path.join(backup.dir, file)) }] };
    },
  );
}

async function validBackups(ctx: EngineContext): Promise<Array<{ folder: string; dir: string }>> {
  const { listBackups } = await import('../engine/lifecycle/list-backups.js');
  const { root, backups } = await listBackups({}, ctx);
  return backups.filter((b) => b.status === 'valid').map((b) => ({ folder: b.folder, dir: path.join(root, b.folder) }));
}

async function readCapped(file: string): Promise<string> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (handle === undefined) return '';
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(Math.min(size, RESOURCE_MAX_BYTES));
    await handle.read(buffer, 0, buffer.length, 0);
    const text = buffer.toString('utf8');
    return size > RESOURCE_MAX_BYTES ? `${text}\n-- (cut: the file is ${size} bytes; dbops serves the first ${RESOURCE_MAX_BYTES})\n` : text;
  } finally {
    await handle.close();
  }
}
