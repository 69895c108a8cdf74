import type { ExtensionRow } from '../pg/catalog.js';
import { dollarQuoted, ident, literal } from '../pg/sql.js';

// extensions.sql is applied before the dump's objects, so they find their types and functions;
// existing extensions are left alone, so it is re-appliable. An extension has no ALTER … OWNER:
// it belongs to whoever creates it, so a missing one is created as the role that owned it
// (supabase_admin on Supabase) when the restoring role may act for it and that role could
// create it (a superuser, or a trusted extension); otherwise as the restoring role.

export function extensionsSql(extensions: readonly ExtensionRow[]): string {
  const lines = ['-- Extensions of the backed-up database. Re-appliable: existing extensions are left alone.'];
  for (const e of extensions) {
    const asOwner = `SELECT 1 FROM pg_roles r WHERE r.rolname = ${literal(e.owner)} AND r.rolname <> current_user AND pg_has_role(current_user, r.oid, 'MEMBER')
        AND (r.rolsuper OR EXISTS (SELECT 1 FROM pg_available_extension_versions v WHERE v.name = ${literal(e.name)} AND v.version = ${literal(e.version)} AND v.trusted))`;
    const body = [
      `IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = ${literal(e.name)}) THEN RETURN; END IF;`,
      `EXECUTE ${literal(`CREATE SCHEMA IF NOT EXISTS ${ident(e.schema)}`)};`,
      `IF EXISTS (${asOwner}) THEN EXECUTE ${literal(`SET LOCAL ROLE ${ident(e.owner)}`)}; END IF;`,
      `EXECUTE ${literal(`CREATE EXTENSION IF NOT EXISTS ${ident(e.name)} WITH SCHEMA ${ident(e.schema)} VERSION ${literal(e.version)}`)};`,
      `EXECUTE 'RESET ROLE';`,
    ];
    lines.push(`DO ${dollarQuoted(`\nBEGIN\n  ${body.join('\n  ')}\nEND\n`)};`);
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
