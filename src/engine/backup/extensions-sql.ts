import type { ExtensionRow } from '../pg/catalog.js';
import { ident, literal } from '../pg/sql.js';

// extensions.sql is applied first on restore, so the dump's objects find their types and
// functions; IF NOT EXISTS keeps it re-appliable on a database that has them already.

export function extensionsSql(extensions: readonly ExtensionRow[]): string {
  const lines = ['-- Extensions of the backed-up database. Re-appliable: existing extensions are left alone.'];
  for (const e of extensions) {
    lines.push(`CREATE SCHEMA IF NOT EXISTS ${ident(e.schema)};`);
    lines.push(`CREATE EXTENSION IF NOT EXISTS ${ident(e.name)} WITH SCHEMA ${ident(e.schema)} VERSION ${literal(e.version)};`);
  }
  return `${lines.join('\n')}\n`;
}

export function extensionsTsv(extensions: readonly ExtensionRow[]): string {
  const rows = extensions.map((e) => [e.name, e.version, e.schema].map(tsvField).join('\t'));
  return `${['name\tversion\tschema', ...rows].join('\n')}\n`;
}

export function tsvField(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');
}
