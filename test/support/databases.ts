import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, inject } from 'vitest';
import { parseConnectionUrl } from '../../src/engine/connection.js';
import { runTool } from '../../src/engine/tools/pg-tools.js';

// Each test file gets its own databases on the run's server and drops them afterwards.

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURE = path.join(PROJECT_ROOT, 'test/fixtures/supabase-shaped.sql');
/** The fixture's transient tables (dbops.config.yaml's transient category; the v2 scripts' "Transient" row). */
export const FIXTURE_TRANSIENT_TABLES: readonly string[] = [
  'public.conversations',
  'public.tasks',
  'public.plans',
  'public.deliverables',
  'public.checkpoints',
  'public.observability_events',
  'public.llm_usage',
];

export function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

export async function withPg<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function psqlFile(url: string, file: string): Promise<void> {
  await runTool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', file], { connection: parseConnectionUrl(url, 'test') });
}

export interface TestDatabases {
  adminUrl: string;
  /** Creates an empty database (optionally loading SQL files into it) and returns its URL. */
  create(options?: { load?: string[]; template?: string }): Promise<{ name: string; url: string }>;
  drop(name: string): Promise<void>;
}

export function useTestDatabases(prefix: string): TestDatabases {
  const adminUrl = inject('adminUrl');
  const created = new Set<string>();
  const drop = async (name: string) => {
    await withPg(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`));
    created.delete(name);
  };
  afterAll(async () => {
    for (const name of [...created]) await drop(name);
  });
  return {
    adminUrl,
    drop,
    async create(options = {}) {
      const name = `dbops_t_${prefix}_${randomBytes(4).toString('hex')}`;
      const template = options.template === undefined ? '' : ` TEMPLATE ${pg.escapeIdentifier(options.template)}`;
      await withPg(adminUrl, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}${template}`));
      created.add(name);
      const url = databaseUrl(adminUrl, name);
      for (const file of options.load ?? []) await psqlFile(url, file);
      return { name, url };
    },
  };
}

/** Exact row count of every user table, keyed "schema.table". */
export async function tableCounts(url: string): Promise<Record<string, number>> {
  return withPg(url, async (c) => {
    const tables = await c.query<{ schema: string; table: string }>(
      `SELECT n.nspname AS schema, c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2`,
    );
    const counts: Record<string, number> = {};
    for (const t of tables.rows) {
      const r = await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ONLY ${c.escapeIdentifier(t.schema)}.${c.escapeIdentifier(t.table)}`);
      counts[`${t.schema}.${t.table}`] = Number(r.rows[0]?.n);
    }
    return counts;
  });
}
