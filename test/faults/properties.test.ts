import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/engine/config.js';
import { describeConnection, formatConnection, parseConnectionUrl } from '../../src/engine/connection.js';
import { isDbopsError } from '../../src/engine/errors.js';
import { buildRegistry } from '../../src/loader/registry.js';
import { parseSlashLine } from '../../src/loader/slash-line.js';
import { redact } from '../../src/reporting/redact.js';
import { COMMAND_MODULES } from '../../src/commands/index.js';
import { PROJECT_ROOT } from '../support/databases.js';
import { defineFaults, type FaultCase, type Outcome } from './harness.js';

// Property-based cases: the parsers that take what a person, an assistant or a config file
// types. Each property runs a few hundred generated inputs; a failure shows the shrunk
// counterexample (cut short).

const RUNS = 300;
// One seed by default, so a run is repeatable and CI sees what a developer saw; FAULTS_SEED explores.
fc.configureGlobal({ seed: Number(process.env.FAULTS_SEED ?? 20261129), numRuns: RUNS });

/** Runs a property; a counterexample becomes the observed text. */
function property(held: string, check: () => void): Promise<Outcome> {
  try {
    check();
    return Promise.resolve({ observed: held, held: true });
  } catch (error) {
    const text = (error as Error).message.replace(/\s+/g, ' ');
    const example = /Counterexample: (.*?) Shrunk/.exec(text)?.[1] ?? text;
    return Promise.resolve({ observed: `counterexample ${example.slice(0, 200)}`, held: false });
  }
}

/** Only errors the engine means to raise, with one of these codes. */
function expectedError(error: unknown, codes: readonly string[]): boolean {
  return isDbopsError(error) && codes.includes(error.code);
}

const registry = await buildRegistry(PROJECT_ROOT, COMMAND_MODULES);
const anyText = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 100 }), fc.string({ unit: 'binary', maxLength: 100 }));
// A password nothing else in a URL or a message would contain by chance.
const password = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 30 }).map((s) => `PWx9${s}`);

const cases: FaultCase[] = [
  {
    name: 'slash-line parser: any text',
    category: 'property',
    expected: 'a parsed command with plain string arguments, or a USAGE / COMMAND_UNKNOWN error; never another error, never an operator passed on',
    run: () =>
      property(`${RUNS} generated lines: each parsed to plain strings or refused as usage`, () =>
        fc.assert(
          fc.property(anyText, fc.constantFrom('', '/backup-db ', '/restore-db ', '/', '/nope '), (text, prefix) => {
            try {
              const parsed = parseSlashLine(prefix + text, registry);
              return parsed.argv.every((a) => typeof a === 'string');
            } catch (error) {
              return expectedError(error, ['USAGE', 'COMMAND_UNKNOWN']);
            }
          }),
          { numRuns: RUNS },
        ),
      ),
  },
  {
    name: 'slash-line parser: quoted arguments come back exactly',
    category: 'property',
    expected: 'any list of arguments, double-quoted as in a shell, parses back to the same list',
    owner: 'loader (src/loader/slash-line.ts)',
    run: () =>
      property(`${RUNS} generated argument lists round-tripped`, () =>
        fc.assert(
          fc.property(
            fc.array(
              fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !s.includes('\0')),
              { maxLength: 6 },
            ),
            (argv) => {
              // Quoted as a person would in a shell: double quotes, with " \ $ and ` escaped.
              const quoted = argv.map((a) => `"${a.replace(/(["\\$`])/g, '\\$1')}"`).join(' ');
              const parsed = parseSlashLine(`/backup-db ${quoted}`, registry);
              return JSON.stringify(parsed.argv) === JSON.stringify(argv);
            },
          ),
          // Found before: bash reads "\` " as a backtick and a space.
          { numRuns: RUNS, examples: [[['` ']], [['a$b']], [['*#']]] },
        ),
      ),
  },
  {
    name: 'URL parser: any text',
    category: 'property',
    expected: 'a connection, or URL_INVALID (or another URL_* / TARGET_* code); never a raw exception; the message never repeats the text',
    owner: 'connections helper (src/engine/connection.ts)',
    run: () =>
      property(`${RUNS} generated strings: parsed or refused with a code`, () =>
        fc.assert(
          fc.property(
            fc.oneof(
              anyText,
              anyText.map((s) => `postgres://${s}`),
              fc.webUrl().map((u) => u.replace(/^https?/, 'postgres')),
            ),
            (text) => {
              try {
                parseConnectionUrl(text, 'a property', {});
                return true;
              } catch (error) {
                return isDbopsError(error) && error.code.startsWith('URL_') && (text.length < 8 || !error.message.includes(text));
              }
            },
          ),
          // Found before: a lone "%" in the URL.
          { numRuns: RUNS, examples: [['postgres://%'], ['postgres://u:%zz@h/db'], ['postgres://h/%E0%A4%A']] },
        ),
      ),
  },
  {
    name: 'URL parser: passwords never shown',
    category: 'secrets',
    expected: 'for any password (encoded), the parsed password is exact and no label or description of the connection contains it',
    owner: 'connections helper (src/engine/connection.ts)',
    run: () =>
      property(`${RUNS} generated passwords: exact, never shown`, () =>
        fc.assert(
          fc.property(password, (pw) => {
            const spec = parseConnectionUrl(`postgres://user:${encodeURIComponent(pw)}@db.example.com:5432/app`, 'a property', {});
            const shown = `${formatConnection(spec)} ${JSON.stringify(describeConnection(spec))}`;
            return spec.password === pw && !shown.includes(pw);
          }),
          { numRuns: RUNS },
        ),
      ),
  },
  {
    name: 'recorded arguments: a URL with an unencoded password',
    category: 'secrets',
    expected: 'for any password typed raw into a --url (with @, spaces, /, #), the recorded arguments hold no part of it',
    owner: 'reporting helper (src/reporting/invoke.ts)',
    run: () =>
      property(`${RUNS} generated raw passwords: none recorded`, () =>
        fc.assert(
          fc.property(password, fc.constantFrom('', '@x y', ' z', '/p#q', '@'), (pw, tail) => {
            const raw = `${pw}${tail}`;
            const recorded = JSON.stringify(redact({ url: `postgres://user:${raw}@db.example.com:5432/app`, label: 'x' }));
            return !recorded.includes(pw);
          }),
          { numRuns: RUNS },
        ),
      ),
  },
  {
    name: 'config parser: any YAML text or value',
    category: 'property',
    expected: 'a config, or CONFIG_INVALID / CONFIG_UNREADABLE listing the problems; never a raw exception',
    run: () =>
      property(`${RUNS} generated documents: parsed or refused with a code`, () =>
        fc.assert(
          fc.property(
            fc.oneof(
              anyText,
              fc.anything({ maxDepth: 3 }).map((v) => {
                try {
                  return stringify(v);
                } catch {
                  return String(v);
                }
              }),
              fc
                .record({ targets: fc.anything({ maxDepth: 2 }), backup: fc.anything({ maxDepth: 2 }), retention: fc.anything({ maxDepth: 2 }) })
                .map((v) => stringify(v)),
            ),
            (text) => {
              try {
                parseConfig(text, 'dbops.config.yaml');
                return true;
              } catch (error) {
                return expectedError(error, ['CONFIG_INVALID', 'CONFIG_UNREADABLE']);
              }
            },
          ),
          { numRuns: RUNS },
        ),
      ),
  },
];

defineFaults('properties', cases);
