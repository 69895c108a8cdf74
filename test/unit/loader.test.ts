import { readFile, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadArtifacts } from '../../src/loader/load-artifacts.js';
import { buildCatalog, buildRegistry } from '../../src/loader/registry.js';
import { parseSlashLine } from '../../src/loader/slash-line.js';
import { COMMAND_MODULES } from '../../src/commands/index.js';
import { PROJECT_ROOT } from '../support/databases.js';

describe('commands/ and skills/', () => {
  it('every file loads, every command is bound to the engine, and references link', async () => {
    const registry = await buildRegistry(PROJECT_ROOT, COMMAND_MODULES);
    expect(registry.commands.map((c) => c.name)).toEqual([
      'backup-db',
      'history',
      'list-backups',
      'prune-backups',
      'push-backup',
      'restore-db',
      'verify-backup',
    ]);
    expect(registry.skills.map((s) => s.name)).toEqual(['database-backup-skill', 'database-restore-skill', 'self-reporting-skill']);
    const restore = registry.find('restore-db')!.doc.frontmatter;
    expect(restore['disable-model-invocation']).toBe(true);
    expect(restore['allowed-tools']).toEqual([
      'Bash(dbops restore-db:*)',
      'Bash(npx dbops restore-db:*)',
      'Bash(dbops list-backups:*)',
      'Bash(npx dbops list-backups:*)',
    ]);
    expect(registry.find('backup-db')!.doc.frontmatter.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('a broken file gives one error naming every file, field and problem at once', async () => {
    const error = await loadArtifacts(path.join(PROJECT_ROOT, 'test/fixtures/broken-artifacts')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ARTIFACTS_INVALID' });
    expect((error as { details: string[] }).details).toEqual([
      'commands/backup-db.md: description: must say what the command does',
      'commands/backup-db.md: version: must be a semantic version like 1.0.0',
      'commands/backup-db.md: frontmatter: unknown key "surprise" (Claude Code reads description, argument-hint, allowed-tools, model, disable-model-invocation; dbops reads category, uses-skills, related-commands, version)',
      'skills/bad-skill/SKILL.md: name: "other-name" must equal its folder name "bad-skill"',
    ]);
  });

  it('.claude/ shows the canonical commands and skills, not copies that can drift', async () => {
    expect(await realpath(path.join(PROJECT_ROOT, '.claude/commands'))).toBe(await realpath(path.join(PROJECT_ROOT, 'commands')));
    expect(await realpath(path.join(PROJECT_ROOT, '.claude/skills'))).toBe(await realpath(path.join(PROJECT_ROOT, 'skills')));
    const settings = JSON.parse(await readFile(path.join(PROJECT_ROOT, '.claude/settings.json'), 'utf8')) as { permissions: { allow: string[] } };
    for (const file of await readdir(path.join(PROJECT_ROOT, 'commands'))) {
      expect(settings.permissions.allow, file).toContain(`Bash(npx dbops ${file.replace(/\.md$/, '')}:*)`);
      expect(settings.permissions.allow, file).toContain(`Bash(dbops ${file.replace(/\.md$/, '')}:*)`);
    }
  });
});

describe('the catalog the CLI runs a command from', () => {
  it("loads a command's module only when that command runs, and checks it is the one named", async () => {
    const loaded: string[] = [];
    const spied = Object.fromEntries(
      Object.entries(COMMAND_MODULES).map(([name, load]) => [
        name,
        async () => {
          loaded.push(name);
          return load();
        },
      ]),
    );
    const catalog = await buildCatalog(PROJECT_ROOT, spied);
    expect(catalog.commands.map((c) => c.name)).toContain('list-backups');
    expect(loaded).toEqual([]);
    const entry = catalog.find('list-backups')!;
    expect((await catalog.load(entry)).command.name).toBe('list-backups');
    expect(loaded).toEqual(['list-backups']);

    const swapped = await buildCatalog(PROJECT_ROOT, { ...COMMAND_MODULES, history: COMMAND_MODULES['list-backups']! });
    await expect(swapped.load(swapped.find('history')!)).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringMatching(/"history" is the "list-backups" command/),
    });
  });

  it('refuses a command file without a module and a module without a file, before loading any', async () => {
    const { history: _history, ...withoutHistory } = COMMAND_MODULES;
    await expect(buildCatalog(PROJECT_ROOT, withoutHistory)).rejects.toMatchObject({
      code: 'ARTIFACTS_INVALID',
      message: expect.stringContaining('commands/history.md: no command module for "history"'),
    });
    await expect(buildCatalog(PROJECT_ROOT, { ...COMMAND_MODULES, 'drop-db': async () => Promise.reject(new Error('never loaded')) })).rejects.toMatchObject({
      code: 'ARTIFACTS_INVALID',
      message: expect.stringContaining('commands/drop-db.md: missing'),
    });
  });
});

describe('slash lines', () => {
  it('split like the shell the command body runs in, quotes included', async () => {
    const registry = await buildRegistry(PROJECT_ROOT, COMMAND_MODULES);
    const parsed = parseSlashLine(`/backup-db --no-transient --label "pre upgrade" --url 'postgres://u:p w@h/d'`, registry);
    expect(parsed.command.name).toBe('backup-db');
    expect(parsed.argv).toEqual(['--no-transient', '--label', 'pre upgrade', '--url', 'postgres://u:p w@h/d']);
    expect(parseSlashLine('/restore-db', registry).argv).toEqual([]);
  });

  it('refuse unknown commands (listing the known ones) and shell operators', async () => {
    const registry = await buildRegistry(PROJECT_ROOT, COMMAND_MODULES);
    expect(() => parseSlashLine('/drop-db', registry)).toThrow(
      'Unknown command /drop-db; known commands: /backup-db, /history, /list-backups, /prune-backups, /push-backup, /restore-db, /verify-backup.',
    );
    expect(() => parseSlashLine('/backup-db; rm -rf /', registry)).toThrow(/\/backup-db: arguments may not contain ";"/);
    expect(() => parseSlashLine('backup-db', registry)).toThrow(/A slash line starts with \/command/);
  });
});
