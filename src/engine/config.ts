import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DbopsError } from './errors.js';

// Untrusted YAML and environment become one parsed Config. Every problem is reported at
// once, each naming its key, so a user fixes the file in one pass.

export const CONFIG_FILE = 'dbops.config.yaml';

const pattern = z
  .string()
  .regex(/^[^.]+\.[^.]+$/, 'must look like schema.table (use * for any name, e.g. auth.*)');

const categorySchema = z.strictObject({
  description: z.string().default(''),
  patterns: z.array(pattern).min(1),
  /** Included when no flag says otherwise. */
  default: z.boolean().default(true),
  /** Included in --prod mode. */
  prod: z.boolean().default(true),
  /** What excluding it means: leave the whole schema out, or keep the tables empty. `never`: cannot be excluded. */
  exclude: z.enum(['schema', 'data', 'never']).default('data'),
});

const targetSchema = z.strictObject({
  /** Environment variables holding the URL, first one set wins. */
  env: z.union([z.string(), z.array(z.string()).min(1)]).transform((value) => (Array.isArray(value) ? value : [value])),
  protected: z.boolean().default(false),
});

const DEFAULT_TARGETS = {
  dev: { env: ['DATABASE_URL_DEV'], protected: false },
  staging: { env: ['DATABASE_URL_STAGING', 'DATABASE_URL'], protected: false },
  prod: { env: ['DATABASE_URL_PROD'], protected: true },
};

const DEFAULT_CATEGORIES = {
  core: {
    description: 'Prediction, crawler and RAG data, RBAC, LLM providers/models and agents',
    patterns: [
      'prediction.*', 'crawler.*', 'rag_data.*', 'public.organizations', 'public.rbac_*',
      'public.llm_providers', 'public.llm_models', 'public.agents',
    ],
    default: true, prod: true, exclude: 'never' as const,
  },
  auth: { description: 'Supabase auth (users, identities, sessions, …)', patterns: ['auth.*'], default: true, prod: true, exclude: 'schema' as const },
  storage: { description: 'Supabase storage metadata (buckets, objects)', patterns: ['storage.*'], default: true, prod: true, exclude: 'schema' as const },
  org_data: {
    description: 'Organisation data: marketing, law, engineering, leads, company data, risk',
    patterns: ['marketing.*', 'law.*', 'engineering.*', 'leads.*', 'company_data.*', 'risk.*'],
    default: true, prod: false, exclude: 'data' as const,
  },
  transient: {
    description: 'Conversations, tasks, plans, deliverables, checkpoints, observability events, LLM usage',
    patterns: [
      'public.conversations', 'public.tasks', 'public.plans', 'public.deliverables', 'public.checkpoints',
      'public.observability_events', 'public.llm_usage',
    ],
    default: true, prod: false, exclude: 'data' as const,
  },
};

// Schemas Supabase's platform creates and owns. A restore must not fight over them: their
// contents come back through CREATE EXTENSION (extensions.sql) and realtime.sql, not the dump.
const DEFAULT_MANAGED_SCHEMAS = [
  'realtime', '_realtime', 'supabase_functions', 'graphql', 'graphql_public', 'vault', 'pgsodium',
  'pgsodium_masks', 'net', 'pgbouncer', '_analytics', 'supabase_migrations', 'pgtle',
];

const DEFAULT_RESERVED_ROLES = [
  'postgres', 'anon', 'authenticated', 'authenticator', 'service_role', 'dashboard_user', 'pgbouncer',
  'supabase_*', 'pgsodium_*', 'pg_*', 'cli_login_*',
];

const configSchema = z.strictObject({
  default_target: z.string().default('staging'),
  targets: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/, 'target names are lower-case letters, digits, - and _'), targetSchema).default(DEFAULT_TARGETS),
  backup: z
    .strictObject({
      dir: z.string().min(1).default('storage/backups'),
      jobs: z.number().int().min(1).max(64).default(2),
      compression: z.number().int().min(0).max(9).default(1),
      content_hashes_max_bytes: z.number().int().min(0).default(1024 ** 3),
    })
    .prefault({}),
  retention: z
    .strictObject({
      /** Backups kept per target, newest first (labels below not counted). */
      keep_last: z.number().int().min(1).default(5),
      /** Extra backups kept per target for these labels, on top of keep_last. */
      keep_labels: z.record(z.string(), z.number().int().min(0)).default({ 'pre-upgrade': 2, 'pre-restore': 2 }),
      /** Folders left by interrupted backups are removed once older than this. */
      incomplete_max_age_hours: z.number().min(0).default(24),
    })
    .prefault({}),
  mcp: z
    .strictObject({
      /** Register only read-only tools (no backup, restore or prune). */
      read_only: z.boolean().default(false),
      /** Let agents pass connection URLs instead of configured target names. */
      allow_urls: z.boolean().default(false),
      /** Protected targets agents may restore into (with confirm); none by default. */
      allow_protected_restore: z.array(z.string()).default([]),
    })
    .prefault({}),
  categories: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'category names are lower-case letters, digits and _'), categorySchema).default(DEFAULT_CATEGORIES),
  /** Tables also exported as CSV. Default: the core category's tables, plus auth.users and auth.identities when auth is included. */
  critical_tables: z.array(pattern).optional(),
  managed_schemas: z.array(z.string().min(1)).default(DEFAULT_MANAGED_SCHEMAS),
  reserved_roles: z.array(z.string().min(1)).default(DEFAULT_RESERVED_ROLES),
});

export type Config = z.infer<typeof configSchema>;
export type CategoryConfig = z.infer<typeof categorySchema>;

export interface LoadedConfig {
  config: Config;
  /** The file read, or undefined when the built-in defaults were used. */
  file: string | undefined;
}

/** Reads dbops.config.yaml from `root` (or DBOPS_CONFIG); a missing file means the defaults. */
export function loadConfig(root: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const file = env.DBOPS_CONFIG !== undefined ? path.resolve(root, env.DBOPS_CONFIG) : path.join(root, CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && env.DBOPS_CONFIG === undefined) {
      return { config: configSchema.parse({}), file: undefined };
    }
    throw new DbopsError('CONFIG_UNREADABLE', `Cannot read ${file}: ${(error as Error).message}`);
  }
  return { config: parseConfig(text, file), file };
}

export function parseConfig(text: string, file: string): Config {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (error) {
    throw new DbopsError('CONFIG_UNREADABLE', `${file} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const result = configSchema.safeParse(raw);
  const problems = result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  if (result.success) problems.push(...crossCheck(result.data));
  if (problems.length > 0 || !result.success) {
    throw new DbopsError('CONFIG_INVALID', `${file} has ${problems.length} problem(s): ${problems.join('; ')}`, { details: problems });
  }
  return result.data;
}

function crossCheck(config: Config): string[] {
  const problems: string[] = [];
  if (!(config.default_target in config.targets)) {
    problems.push(`default_target: "${config.default_target}" is not one of targets (${Object.keys(config.targets).join(', ')})`);
  }
  for (const [name, category] of Object.entries(config.categories)) {
    if (category.exclude !== 'schema') continue;
    category.patterns.forEach((p, i) => {
      if (!p.endsWith('.*')) problems.push(`categories.${name}.patterns.${i}: a category excluded as a whole schema takes schema.* patterns only`);
    });
  }
  return problems;
}

/** Loads `.env` from the root into `env` without overriding variables already set. */
export function loadDotEnv(root: string, env: NodeJS.ProcessEnv = process.env): void {
  let text: string;
  try {
    text = readFileSync(path.join(root, '.env'), 'utf8');
  } catch {
    return;
  }
  for (const [key, value] of Object.entries(parseEnv(text))) {
    if (env[key] === undefined) env[key] = value;
  }
}
