import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, loadDotEnv, parseConfig } from '../../src/engine/config.js';
import { resolveTarget } from '../../src/engine/targets.js';
import { useTempDirs } from '../support/backups.js';
import { PROJECT_ROOT } from '../support/databases.js';

const tempDir = useTempDirs();

describe('config', () => {
  it('uses the built-in defaults when the file is missing', async () => {
    const dir = await tempDir();
    const { config, file } = loadConfig(dir, {});
    expect(file).toBeUndefined();
    expect(config.default_target).toBe('staging');
    expect(config.targets.prod).toEqual({ env: ['DATABASE_URL_PROD'], protected: true });
    expect(config.targets.staging?.env).toEqual(['DATABASE_URL_STAGING', 'DIRECT_URL', 'DATABASE_URL']);
    // Built in: the platform's categories only; an app's names never match another app's tables.
    expect(Object.keys(config.categories)).toEqual(['auth', 'storage']);
    expect(config.categories.auth).toMatchObject({ exclude: 'data', patterns: ['auth.*'] });
    expect(config.platform_roles).toEqual(['supabase_admin', 'supabase_*_admin']);
  });

  it("ships a dbops.config.yaml that is the defaults plus this project's own categories", async () => {
    const shipped = parseConfig(await readFile(path.join(PROJECT_ROOT, 'dbops.config.yaml'), 'utf8'), 'dbops.config.yaml');
    const defaults = parseConfig('{}', 'defaults');
    expect({ ...shipped, categories: {} }).toEqual({ ...defaults, categories: {} });
    expect(Object.keys(shipped.categories)).toEqual(['core', 'auth', 'storage', 'org_data', 'transient']);
    expect(shipped.categories.auth).toEqual(defaults.categories.auth);
    expect(shipped.categories.storage).toEqual(defaults.categories.storage);
  });

  it('reports every problem at once, each naming its key', () => {
    const yaml = [
      'default_target: nowhere',
      'targets:',
      '  dev: { env: 42 }',
      'backup: { jobs: 0, surprise: true }',
      'categories:',
      '  auth: { patterns: ["auth.users"], exclude: schema }',
    ].join('\n');
    let error: unknown;
    try {
      parseConfig(yaml, 'dbops.config.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
    const details = (error as { details: string[] }).details;
    expect(details.some((d) => d.startsWith('targets.dev.env:'))).toBe(true);
    expect(details.some((d) => d.startsWith('backup.jobs:'))).toBe(true);
    expect(details.some((d) => d.includes('surprise'))).toBe(true);
    expect((error as Error).message).toMatch(/^dbops\.config\.yaml has \d+ problem\(s\): /);
  });

  it('checks cross-key rules once the shape is right', () => {
    expect(() => parseConfig('default_target: nowhere\ncategories:\n  auth: { patterns: ["auth.users"], exclude: schema }', 'f.yaml')).toThrow(
      /default_target: "nowhere" is not one of targets.*categories\.auth\.patterns\.0: a category excluded as a whole schema takes schema\.\* patterns only/,
    );
  });

  it('names unreadable YAML', () => {
    expect(() => parseConfig('targets: [', 'f.yaml')).toThrow(/^f\.yaml is not valid YAML/);
  });

  it('loads .env without overriding variables already set', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, '.env'), 'DATABASE_URL_DEV=postgres://a@h/dev\nDATABASE_URL=postgres://from-file@h/x\n');
    const env: NodeJS.ProcessEnv = { DATABASE_URL: 'postgres://already@h/y' };
    loadDotEnv(dir, env);
    expect(env).toEqual({ DATABASE_URL: 'postgres://already@h/y', DATABASE_URL_DEV: 'postgres://a@h/dev' });
  });
});

describe('targets', () => {
  const config = parseConfig('{}', 'defaults');
  it('falls back from DATABASE_URL_STAGING to DATABASE_URL', () => {
    const t = resolveTarget(config, {}, { DATABASE_URL: 'postgres://u@h:5433/app' });
    expect(t).toMatchObject({ name: 'staging', protected: false, spec: { host: 'h', port: 5433, database: 'app' } });
  });
  it('marks prod protected and names the missing variable', () => {
    expect(resolveTarget(config, { target: 'prod' }, { DATABASE_URL_PROD: 'postgres://u@h/p' }).protected).toBe(true);
    expect(() => resolveTarget(config, { target: 'dev' }, {})).toThrow('Target "dev" has no URL: set DATABASE_URL_DEV.');
    expect(() => resolveTarget(config, { target: 'qa' }, {})).toThrow('Unknown target "qa"; configured targets: dev, staging, prod.');
  });
  it('lets --url override and names it url', () => {
    expect(resolveTarget(config, { url: 'postgres://u@h/d' }, {}).name).toBe('url');
    expect(() => resolveTarget(config, { url: 'postgres://u@h/d', target: 'dev' }, {})).toThrow(/either --target or --url/);
  });
});
