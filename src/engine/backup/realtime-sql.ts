import type { PublicationMemberRow, PublicationRow } from '../pg/catalog.js';
import { dollarQuoted, ident, literal } from '../pg/sql.js';

// realtime.sql: publications (supabase_realtime and any other), their schemas and member tables,
// and their comments. The dump is taken with --no-publications, because on Supabase the
// publication belongs to the platform; this file creates what is missing and adds members that
// are absent, so it can be applied any number of times, by any role that owns the publication.

export function realtimeSql(publications: readonly PublicationRow[], members: readonly PublicationMemberRow[]): string {
  const lines = ['-- Publications and their members. Re-appliable: creates missing publications, adds missing schemas and tables.'];
  for (const pub of publications) {
    const name = literal(pub.name);
    const scope = pub.allTables ? ' FOR ALL TABLES' : pub.schemas.length > 0 ? ` FOR TABLES IN SCHEMA ${pub.schemas.map(ident).join(', ')}` : '';
    const create = `CREATE PUBLICATION ${ident(pub.name)}${scope} WITH (publish = ${literal(pub.publish)}, publish_via_partition_root = ${pub.viaRoot});`;
    // A publication this file creates gets the owner it had, when that role exists and may be given it.
    const owner = `IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${literal(pub.owner)} AND pg_has_role(current_user, oid, 'MEMBER')) THEN\n      ALTER PUBLICATION ${ident(pub.name)} OWNER TO ${ident(pub.owner)};\n    END IF;`;
    lines.push(doBlock(`IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = ${name}) THEN\n    ${create}\n    ${owner}\n  END IF;`));
    for (const schema of pub.allTables ? [] : pub.schemas) {
      const present = `SELECT 1 FROM pg_publication_namespace pn JOIN pg_publication p ON p.oid = pn.pnpubid WHERE p.pubname = ${name} AND pn.pnnspid = ${literal(schema)}::regnamespace`;
      lines.push(doBlock(`IF NOT EXISTS (${present}) THEN\n    ALTER PUBLICATION ${ident(pub.name)} ADD TABLES IN SCHEMA ${ident(schema)};\n  END IF;`));
    }
    for (const m of members.filter((x) => x.publication === pub.name)) {
      const table = literal(`${ident(m.schema)}.${ident(m.table)}`);
      const columns = m.columns === null ? '' : ` (${m.columns.map(ident).join(', ')})`;
      const where = m.rowFilter === null ? '' : ` WHERE (${m.rowFilter})`;
      const add = `ALTER PUBLICATION ${ident(pub.name)} ADD TABLE ONLY ${ident(m.schema)}.${ident(m.table)}${columns}${where};`;
      const present = `SELECT 1 FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid WHERE p.pubname = ${name} AND pr.prrelid = to_regclass(${table})`;
      lines.push(doBlock(`IF to_regclass(${table}) IS NOT NULL AND NOT EXISTS (${present}) THEN\n    ${add}\n  END IF;`));
    }
    if (pub.comment !== null) {
      // A comment needs the publication's owner; a platform-owned publication keeps its own.
      const differs = `SELECT 1 FROM pg_publication p WHERE p.pubname = ${name} AND obj_description(p.oid, 'pg_publication') IS DISTINCT FROM ${literal(pub.comment)} AND pg_has_role(current_user, p.pubowner, 'USAGE')`;
      lines.push(doBlock(`IF EXISTS (${differs}) THEN\n    COMMENT ON PUBLICATION ${ident(pub.name)} IS ${literal(pub.comment)};\n  END IF;`));
    }
  }
  return `${lines.join('\n')}\n`;
}

function doBlock(body: string): string {
  return `DO ${dollarQuoted(`\nBEGIN\n  ${body}\nEND\n`)};`;
}
