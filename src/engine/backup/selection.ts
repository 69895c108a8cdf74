import type { Config } from '../config.js';
import { cutShort, DbopsError } from '../errors.js';
import type { CatalogTable, InheritanceEdge, TableRef } from '../pg/catalog.js';

// Which schemas and tables a backup leaves out, from the categories in config, the flags,
// and what the database actually has. Patterns naming things the database lacks are skipped.

export interface SelectionInput {
  prod: boolean;
  /** Category names the user excluded (--no-transient → "transient"). */
  exclude: readonly string[];
}

export interface Selection {
  included: string[];
  excluded: Array<{ name: string; mode: 'schema' | 'data' }>;
  /** Schemas left out of the dump entirely: excluded categories plus Supabase-managed schemas present. */
  excludedSchemas: string[];
  managedSchemas: string[];
  /** Tables whose definitions are dumped but whose rows are not, with the category that left them out. */
  excludedDataTables: Array<CatalogTable & { category: string }>;
  /** Tables in the dump (definition), in catalog order. */
  dumpedTables: CatalogTable[];
  criticalTables: CatalogTable[];
  mode: 'full' | 'prod' | 'custom';
}

export function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

/** The same glob as a POSIX regular expression for PostgreSQL's ~ (role names matched in SQL). */
export function globToPosixRegex(glob: string): string {
  return `^${glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')}$`;
}

export function matchesPattern(pattern: string, ref: TableRef): boolean {
  const dot = pattern.indexOf('.');
  return globToRegExp(pattern.slice(0, dot)).test(ref.schema) && globToRegExp(pattern.slice(dot + 1)).test(ref.table);
}

/** Validates category names and turns flags into the set of excluded categories. */
export function chooseCategories(config: Config, input: SelectionInput): { included: string[]; excluded: Array<{ name: string; mode: 'schema' | 'data' }> } {
  const names = Object.keys(config.categories);
  const excludable = names.filter((n) => config.categories[n]?.exclude !== 'never');
  for (const name of input.exclude) {
    if (!names.includes(name)) {
      throw new DbopsError('OPTION_INVALID', `Unknown category "${cutShort(name, 63)}"; categories that can be left out: ${excludable.join(', ')}.`);
    }
    if (!excludable.includes(name)) {
      throw new DbopsError('OPTION_INVALID', `Category "${name}" cannot be left out; categories that can: ${excludable.join(', ')}.`);
    }
  }
  const included: string[] = [];
  const excluded: Array<{ name: string; mode: 'schema' | 'data' }> = [];
  for (const [name, category] of Object.entries(config.categories)) {
    const out = category.exclude !== 'never' && (input.exclude.includes(name) || !category.default || (input.prod && !category.prod));
    if (out) excluded.push({ name, mode: category.exclude === 'schema' ? 'schema' : 'data' });
    else included.push(name);
  }
  return { included, excluded };
}

export function selectTables(
  config: Config,
  input: SelectionInput,
  schemas: readonly string[],
  tables: readonly CatalogTable[],
  inheritance: readonly InheritanceEdge[] = [],
): Selection {
  const { included, excluded } = chooseCategories(config, input);
  const managedSchemas = config.managed_schemas.filter((s) => schemas.includes(s));
  const excludedSchemas = new Set(managedSchemas);
  // table oid → the category that left its rows out
  const dataOut = new Map<number, string>();
  for (const { name, mode } of excluded) {
    const patterns = config.categories[name]!.patterns;
    if (mode === 'schema') {
      for (const p of patterns) {
        const schemaGlob = globToRegExp(p.slice(0, p.indexOf('.')));
        for (const s of schemas) if (schemaGlob.test(s)) excludedSchemas.add(s);
      }
    } else {
      for (const t of tables) if (patterns.some((p) => matchesPattern(p, t))) dataOut.set(t.oid, name);
    }
  }
  // A partition (or an INHERITS child) holds its parent's rows under its own name: leaving the
  // parent's data out leaves out every descendant's, at any depth.
  const children = new Map<number, number[]>();
  for (const e of inheritance) children.set(e.parent, [...(children.get(e.parent) ?? []), e.child]);
  const pending = [...dataOut.keys()];
  while (pending.length > 0) {
    const parent = pending.pop()!;
    for (const child of children.get(parent) ?? []) {
      if (dataOut.has(child)) continue;
      dataOut.set(child, dataOut.get(parent)!);
      pending.push(child);
    }
  }
  const dumpedTables = tables.filter((t) => !excludedSchemas.has(t.schema));
  const criticalPatterns = config.critical_tables ?? defaultCriticalPatterns(config, included);
  const mode =
    excluded.length === 0
      ? 'full'
      : sameSet(
            excluded.map((e) => e.name),
            prodExclusions(config),
          )
        ? 'prod'
        : 'custom';
  return {
    included,
    excluded,
    excludedSchemas: [...excludedSchemas].sort(),
    managedSchemas,
    excludedDataTables: dumpedTables.filter((t) => dataOut.has(t.oid)).map((t) => ({ ...t, category: dataOut.get(t.oid)! })),
    dumpedTables,
    criticalTables: dumpedTables.filter((t) => !dataOut.has(t.oid) && t.kind === 'r' && criticalPatterns.some((p) => matchesPattern(p, t))),
    mode,
  };
}

function defaultCriticalPatterns(config: Config, included: readonly string[]): string[] {
  const core = config.categories.core?.patterns ?? [];
  return included.includes('auth') ? [...core, 'auth.users', 'auth.identities'] : [...core];
}

function prodExclusions(config: Config): string[] {
  return Object.entries(config.categories)
    .filter(([, c]) => c.exclude !== 'never' && (!c.prod || !c.default))
    .map(([n]) => n);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
