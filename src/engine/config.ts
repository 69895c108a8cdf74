import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { DbopsError } from './errors.js';

// Untrusted YAML and environment become one parsed Config. Every problem is reported at
// once, each naming its key, so a user fixes the file in one pass.

export const CONFIG_FILE = 'dbops.config.yaml';

const pattern = z.string().regex(/^[^.]+\.[^.]+$/, 'must look like schema.table (use * for any name, e.g. auth.*)');

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
  // DIRECT_URL before DATABASE_URL: in a Prisma project DATABASE_URL is the pooled URL, which
  // pg_dump cannot use, and DIRECT_URL the direct one.
  staging: { env: ['DATABASE_URL_STAGING', 'DIRECT_URL', 'DATABASE_URL'], protected: false },
  prod: { env: ['DATABASE_URL_PROD'], protected: true },
};

// Built in: only the platform's own data, which every Supabase project has under these names.
// App categories (core, org_data, transient, …) name an app's tables, so they live in the
// project's dbops.config.yaml, never in defaults that would match another app's table by name.
// Leaving auth or storage out leaves out the platform's rows only: the app's triggers on
// auth.users, policies on storage.objects and foreign keys into them stay in the backup.
const DEFAULT_CATEGORIES = {
  auth: { description: 'Supabase auth data (users, identities, sessions, …)', patterns: ['auth.*'], default: true, prod: true, exclude: 'data' as const },
  storage: { description: 'Supabase storage data (buckets, objects)', patterns: ['storage.*'], default: true, prod: true, exclude: 'data' as const },
};

// Roles whose objects belong to the platform: a restore never drops, re-creates or re-owns them.
const DEFAULT_PLATFORM_ROLES = ['supabase_admin', 'supabase_*_admin'];

// Schemas Supabase's platform creates and owns. A restore must not fight over them: their
// contents come back through CREATE EXTENSION (extensions.sql) and realtime.sql, not the dump.
const DEFAULT_MANAGED_SCHEMAS = [
  'realtime',
  '_realtime',
  'supabase_functions',
  'graphql',
  'graphql_public',
  'vault',
  'pgsodium',
  'pgsodium_masks',
  'net',
  'pgbouncer',
  '_analytics',
  'supabase_migrations',
  'pgtle',
];

const DEFAULT_RESERVED_ROLES = [
  'postgres',
  'anon',
  'authenticated',
  'authenticator',
  'service_role',
  'dashboard_user',
  'pgbouncer',
  'supabase_*',
  'pgsodium_*',
  'pg_*',
  'cli_login_*',
];

const retentionSchema = z.strictObject({
  /** Backups kept per target, newest first (labels below not counted). */
  keep_last: z.number().int().min(1).default(5),
  /** Extra backups kept per target for these labels, on top of keep_last. */
  keep_labels: z.record(z.string(), z.number().int().min(0)).default({ 'pre-upgrade': 2, 'pre-restore': 2 }),
  /** Folders left by interrupted backups are removed once older than this. */
  incomplete_max_age_hours: z.number().min(0).default(24),
});

// An S3-compatible bucket for off-site copies (remote/). No credential has a key here on
// purpose: they come from the AWS SDK's own chain (AWS_ACCESS_KEY_ID…, AWS_PROFILE, SSO, instance
// roles), so this file can be committed. Unset endpoint/region/path_style fall back to the SDK's
// AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_REGION and DBOPS_S3_PATH_STYLE=1.
const remoteSchema = z.strictObject({
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'a bucket name: 3-63 lower-case letters, digits, dots and hyphens'),
  /** Folder inside the bucket under which backup folders go ("" = the bucket's top). */
  prefix: z
    .string()
    .max(512)
    .regex(/^(?!\/)(?!.*\/\/)[^\\\u0000-\u001f]*$/, 'a path like team/prod (no leading or double slash)')
    .default(''),
  endpoint: z.url({ protocol: /^https?$/ }).optional(),
  region: z.string().min(1).optional(),
  path_style: z.boolean().optional(),
  /** An AWS profile name (the SDK reads its credentials from ~/.aws); never a credential itself. */
  profile: z.string().min(1).optional(),
  storage_class: z
    .string()
    .regex(/^[A-Z_]+$/, 'an S3 storage class such as STANDARD_IA or GLACIER_IR')
    .optional(),
  /** File holding the 32-byte encryption key (64 hex characters or base64); else DBOPS_ENCRYPTION_KEY / DBOPS_ENCRYPTION_KEY_FILE. */
  encryption_key_file: z.string().min(1).optional(),
  /** Retention for this remote's copies; the top-level retention when absent. */
  retention: retentionSchema.optional(),
});

export type RemoteConfig = z.infer<typeof remoteSchema>;

const configSchema = z.strictObject({
  default_target: z.string().default('staging'),
  targets: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/, 'target names are lower-case letters, digits, - and _'), targetSchema).default(DEFAULT_TARGETS),
  backup: z
    .strictObject({
      dir: z.string().min(1).default('storage/backups'),
      jobs: z.number().int().min(1).max(64).default(2),
      compression: z.number().int().min(0).max(9).default(1),
      /** No longer read: content hashes are taken at every size. Still accepted, so configs that set it keep loading. */
      content_hashes_max_bytes: z.number().int().min(0).optional(),
    })
    .prefault({}),
  retention: retentionSchema.prefault({}),
  /** Off-site copies: name → S3-compatible bucket (see remote/). */
  remotes: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/, 'remote names are lower-case letters, digits, - and _'), remoteSchema).default({}),
  events: z
    .strictObject({
      /** The target whose database records every invocation (code_ops.artifact_events); null: the spool only. */
      target: z.string().nullable().default('dev'),
      /** A protected target records events only when this says so. */
      allow_protected: z.boolean().default(false),
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
  categories: z
    .record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'category names are lower-case letters, digits and _'), categorySchema)
    .default(DEFAULT_CATEGORIES),
  /** Tables also exported as CSV. Default: the core category's tables, plus auth.users and auth.identities when auth is included. */
  critical_tables: z.array(pattern).optional(),
  managed_schemas: z.array(z.string().min(1)).default(DEFAULT_MANAGED_SCHEMAS),
  /** Owners (globs) of what the platform provides: objects they own are never dropped, re-created or re-owned by a restore. */
  platform_roles: z.array(z.string().min(1)).default(DEFAULT_PLATFORM_ROLES),
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
