import { describe, expect, it } from 'vitest';
import { commandFlags, COMMON_FLAGS, parseCommandLine } from '../../src/commands/flags.js';
import { commandHelp } from '../../src/commands/help.js';
import { loadAllCommands } from '../../src/commands/index.js';
import { loadConfig } from '../../src/engine/config.js';
import { loadArtifacts } from '../../src/loader/load-artifacts.js';
import { PROJECT_ROOT } from '../support/databases.js';

const COMMANDS = await loadAllCommands();

// A command is one module and one Markdown file: the flags its schema makes, its --help and
// the Markdown's argument-hint must agree, in both directions, for every command.

const config = loadConfig(PROJECT_ROOT, {}).config;

describe('each command module agrees with its Markdown', () => {
  it('argument-hint names exactly the flags the module makes (and nothing else)', async () => {
    const { commands: docs } = await loadArtifacts(PROJECT_ROOT);
    expect(docs.map((d) => d.name).sort()).toEqual(COMMANDS.map((c) => c.name).sort());
    for (const command of COMMANDS) {
      const doc = docs.find((d) => d.name === command.name)!;
      const hinted = new Set(doc.frontmatter['argument-hint'].match(/--[a-z][a-z-]*/g) ?? []);
      const made = new Set(commandFlags(command, config).map((f) => f.flag));
      expect([...hinted].sort(), `${command.name}: argument-hint vs module`).toEqual([...made].sort());
      // A positional field is named in the hint as PATH.
      expect(doc.frontmatter['argument-hint'].includes('PATH|latest'), command.name).toBe(command.cli.positional === 'backup');
    }
  });

  it('--help lists every flag with its description, default and an example', () => {
    for (const command of COMMANDS) {
      const help = commandHelp(command, 'the description', config);
      for (const flag of [...commandFlags(command, config), ...COMMON_FLAGS]) {
        const line = help.split('\n').findIndex((l) => l.trimStart().startsWith(`${flag.flag} `) || l.trim() === flag.flag);
        expect(line, `${command.name} ${flag.flag}`).toBeGreaterThan(0);
        expect(help, `${command.name} ${flag.flag}`).toContain(flag.description);
        if (flag.default !== undefined && flag.default !== '') expect(help).toContain(`(default: ${flag.default})`);
      }
      expect(command.cli.examples.length, command.name).toBeGreaterThan(0);
      expect(help).toContain(`Examples:\n  ${command.cli.examples[0]}`);
    }
  });

  it('every example parses with the shipped config', () => {
    for (const command of COMMANDS) {
      for (const example of command.cli.examples) {
        const argv = example.split(' ').slice(2);
        expect(() => parseCommandLine(command, argv, config), example).not.toThrow();
      }
    }
  });

  it('flags fill the input the engine schema accepts: booleans, negations, numbers, lists, enums, categories', () => {
    const backup = COMMANDS.find((c) => c.name === 'backup-db')!;
    expect(parseCommandLine(backup, ['--prod', '--jobs', '3', '--no-transient', '--no-org-data', '--no-content-hashes'], config).input).toEqual({
      prod: true,
      jobs: 3,
      exclude: ['org_data', 'transient'],
      contentHashes: false,
    });
    const restore = COMMANDS.find((c) => c.name === 'restore-db')!;
    expect(parseCommandLine(restore, ['latest', '--no-safety-backup', '--data-only', '--tables', 'a.b, c.d', '--verify', 'content'], config).input).toEqual({
      backup: 'latest',
      safetyBackup: false,
      dataOnly: true,
      tables: ['a.b', 'c.d'],
      verify: 'content',
    });
    expect(() => parseCommandLine(restore, ['--verify', 'everything'], config)).toThrow('restore-db: --verify takes counts or content, not "everything".');
    expect(() => parseCommandLine(restore, ['--jobs', 'two'], config)).toThrow('restore-db: --jobs takes a whole number, not "two".');
    expect(() => parseCommandLine(restore, ['a', 'b'], config)).toThrow('restore-db: unexpected argument "b".');
  });
});
