import type { PublicationMemberRow, PublicationRow } from '../pg/catalog.js';
import { dollarQuoted, ident, literal } from '../pg/sql.js';

// realtime.sql: publications (supabase_realtime and any other) and their member tables.
// The dump is taken with --no-publications, because on Supabase the publication belongs to
// the platform; this file re-creates what is missing and adds members that are absent, so
// it can be applied any number of times.

export function realtimeSql(publications: readonly PublicationRow[], members: readonly PublicationMemberRow[]): string {
  const lines = ['-- Publication memberships. Re-appliable: creates missing publications, adds missing members.'];
  for (const pub of publications) {
    const create = `CREATE PUBLICATION ${ident(pub.name)}${pub.allTables ? ' FOR ALL TABLES' : ''} WITH (publish = ${literal(pub.publish)}, publish_via_partition_root = ${pub.viaRoot});`;
    lines.push(
      `DO ${dollarQuoted(`\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = ${literal(pub.name)}) THEN\n    ${create}\n  END IF;\nEND\n`)};`,
    );
    for (const m of members.filter((x) => x.publication === pub.name)) {
      const columns = m.columns === null ? '' : ` (${m.columns.map(ident).join(', ')})`;
      const where = m.rowFilter === null ? '' : ` WHERE (${m.rowFilter})`;
      const add = `ALTER PUBLICATION ${ident(pub.name)} ADD TABLE ONLY ${ident(m.schema)}.${ident(m.table)}${columns}${where};`;
      const present = `SELECT 1 FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid WHERE p.pubname = ${literal(pub.name)} AND pr.prrelid = to_regclass(${literal(`${ident(m.schema)}.${ident(m.table)}`)})`;
      lines.push(
        `DO ${dollarQuoted(`\nBEGIN\n  IF to_regclass(${literal(`${ident(m.schema)}.${ident(m.table)}`)}) IS NOT NULL AND NOT EXISTS (${present}) THEN\n    ${add}\n  END IF;\nEND\n`)};`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
