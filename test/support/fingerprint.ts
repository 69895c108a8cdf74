import { parseConnectionUrl } from '../../src/engine/connection.js';
import { normaliseSql } from '../../src/engine/backup/normalise-sql.js';
import { runTool } from '../../src/engine/tools/pg-tools.js';
import { withPg } from './databases.js';

// Everything a restore must reproduce, in one comparable value: the schema as pg_dump prints
// it, every table's rows (count and an order-independent hash), sequence values, RLS
// policies, grants and publication members.

export interface Fingerprint {
  schema: string;
  tables: Record<string, { rows: number; hash: string }>;
  sequences: Record<string, string>;
  policies: string[];
  grants: string[];
  publication: string[];
}

// Managed schemas are the platform's; code_ops holds invocation history, which a restore
// deliberately keeps (the target's rows survive), so it is not part of "equal to the backup".
const MANAGED = ['realtime', 'supabase_functions', 'code_ops'];

export async function fingerprint(url: string, options: { skipSchemas?: string[] } = {}): Promise<Fingerprint> {
  const skip = [...MANAGED, ...(options.skipSchemas ?? [])];
  const dump = await runTool('pg_dump', ['--schema-only', '--no-publications', ...skip.map((s) => `--exclude-schema=${s}`)], {
    connection: parseConnectionUrl(url, 'fingerprint'),
  });
  const schema = normaliseSql(dump.stdout).replace(/^-- Dumped (from|by) .*$/gm, '');
  return withPg(url, async (c) => {
    const tables: Fingerprint['tables'] = {};
    const list = await c.query<{ s: string; t: string }>(
      `SELECT n.nspname AS s, c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname <> ALL($1) ORDER BY 1, 2`,
      [skip],
    );
    for (const { s, t } of list.rows) {
      const q = `${c.escapeIdentifier(s)}.${c.escapeIdentifier(t)}`;
      const r = await c.query<{ n: string; h: string }>(
        `SELECT count(*)::text AS n, md5(coalesce(string_agg(h::text, ',' ORDER BY h), '')) AS h FROM (SELECT hashtext(x::text) AS h FROM ONLY ${q} x) y`,
      );
      tables[`${s}.${t}`] = { rows: Number(r.rows[0]?.n), hash: r.rows[0]?.h ?? '' };
    }
    const seqs = await c.query<{ k: string; v: string }>(
      `SELECT schemaname || '.' || sequencename AS k, coalesce(last_value::text, 'null') AS v FROM pg_sequences WHERE schemaname <> ALL($1) ORDER BY 1`,
      [skip],
    );
    const policies = await c.query<{ p: string }>(
      `SELECT schemaname || '.' || tablename || ':' || policyname || ':' || cmd || ':' || roles::text || ':' || coalesce(qual, '') AS p FROM pg_policies ORDER BY 1`,
    );
    const grants = await c.query<{ g: string }>(
      `SELECT table_schema || '.' || table_name || ':' || grantee || ':' || privilege_type AS g FROM information_schema.role_table_grants
        WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_schema <> ALL($1) ORDER BY 1`,
      [skip],
    );
    const publication = await c.query<{ m: string }>(`SELECT pubname || ':' || schemaname || '.' || tablename AS m FROM pg_publication_tables ORDER BY 1`);
    return {
      schema,
      tables,
      sequences: Object.fromEntries(seqs.rows.map((r) => [r.k, r.v])),
      policies: policies.rows.map((r) => r.p),
      grants: grants.rows.map((r) => r.g),
      publication: publication.rows.map((r) => r.m),
    };
  });
}
