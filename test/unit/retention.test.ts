import { describe, expect, it } from 'vitest';
import { decideRetention, partialFolderOf, type RetentionEntry, type RetentionRules } from '../../src/engine/lifecycle/retention.js';

// The retention decision alone: entries in, keep/remove with a reason out. One row per rule.

const NOW = new Date('2026-11-30T12:00:00.000Z');
const RULES: RetentionRules = { keep_last: 2, keep_labels: { 'pre-upgrade': 1 }, incomplete_max_age_hours: 24 };

/** "a@3" = a valid backup of database a taken on 2026-11-03; options override the rest. */
function b(spec: string, more: Partial<RetentionEntry> = {}): RetentionEntry {
  const [db, day] = spec.split('@') as [string, string];
  const createdAt = `2026-11-${day.padStart(2, '0')}T01:00:00.000Z`;
  return {
    folder: `${spec}${more.label ? `_${more.label}` : ''}`,
    status: 'valid',
    createdAt,
    modifiedAt: createdAt,
    target: 'url',
    label: null,
    source: { host: 'h', port: 5432, database: db },
    ...more,
  };
}

const cases: Array<{ name: string; entries: RetentionEntry[]; keep: string[]; remove: string[]; reasons?: Record<string, RegExp> }> = [
  {
    name: 'groups by database, not by the target word: the only backup of b survives five of a',
    entries: [b('a@9'), b('a@8'), b('a@7'), b('a@6'), b('a@5'), b('b@1')],
    keep: ['a@9', 'a@8', 'b@1'],
    remove: ['a@7', 'a@6', 'a@5'],
    reasons: { 'b@1': /^newest valid backup of its database \(h:5432\/b\)$/, 'a@7': /^older than the newest 2 backups of its database$/ },
  },
  {
    name: 'same database name on another host or port is another database',
    entries: [
      b('a@9'),
      b('a@8'),
      b('a@7', { source: { host: 'other', port: 5432, database: 'a' } }),
      b('a@6', { source: { host: 'h', port: 6543, database: 'a' } }),
    ],
    keep: ['a@9', 'a@8', 'a@7', 'a@6'],
    remove: [],
  },
  {
    name: 'the newest valid backup is kept even when corrupt and legacy ones are newer',
    entries: [b('a@9', { status: 'corrupt', createdAt: null, source: null }), b('a@5'), b('a@4'), b('a@3')],
    keep: ['a@9', 'a@5', 'a@4'],
    remove: ['a@3'],
    reasons: { 'a@9': /^corrupt/ },
  },
  {
    name: 'special labels count apart, with their own limit',
    entries: [b('a@9'), b('a@8', { label: 'pre-upgrade' }), b('a@7', { label: 'pre-upgrade' }), b('a@6'), b('a@5')],
    keep: ['a@9', 'a@8_pre-upgrade', 'a@6'],
    remove: ['a@7_pre-upgrade', 'a@5'],
    reasons: { 'a@7_pre-upgrade': /^older than the newest 1 "pre-upgrade" backups/ },
  },
  {
    name: 'a backup dated in the future is kept, not counted, and does not push real ones out',
    entries: [b('a@9', { createdAt: '2027-01-01T00:00:00.000Z', folder: 'future' }), b('a@8'), b('a@7'), b('a@6')],
    keep: ['future', 'a@8', 'a@7'],
    remove: ['a@6'],
    reasons: { future: /^dated in the future/ },
  },
  {
    name: 'a clock a minute ahead is not the future',
    entries: [b('a@1', { createdAt: '2026-11-30T12:01:00.000Z', folder: 'soon' }), b('a@8'), b('a@7')],
    keep: ['soon', 'a@8'],
    remove: ['a@7'],
  },
  {
    name: 'old layouts group by the target in their folder name; one of them is always kept',
    entries: [
      b('x@9', { status: 'legacy', source: null, target: 'prod' }),
      b('x@8', { status: 'legacy', source: null, target: 'prod' }),
      b('x@7', { status: 'legacy', source: null, target: 'prod' }),
      b('x@1', { status: 'legacy', source: null, target: 'staging' }),
    ],
    keep: ['x@9', 'x@8', 'x@1'],
    remove: ['x@7'],
    reasons: { 'x@9': /^newest backup of its database \(old layout, target prod\)$/ },
  },
  {
    name: 'incomplete folders: removed only past the age limit; an unknown age is kept',
    entries: [
      b('a@9', { status: 'incomplete', folder: 'old', createdAt: null, source: null, modifiedAt: '2026-11-28T12:00:00.000Z' }),
      b('a@9', { status: 'incomplete', folder: 'fresh', createdAt: null, source: null, modifiedAt: '2026-11-30T11:00:00.000Z' }),
      b('a@9', { status: 'incomplete', folder: 'unknown', createdAt: null, source: null, modifiedAt: null }),
    ],
    keep: ['fresh', 'unknown'],
    remove: ['old'],
    reasons: { old: /^left by an interrupted backup 48 h ago$/ },
  },
  { name: 'nothing in, nothing out', entries: [], keep: [], remove: [] },
];

describe('retention decision', () => {
  it.each(cases)('$name', ({ entries, keep, remove, reasons = {} }) => {
    const decisions = decideRetention(entries, RULES, NOW);
    expect(
      decisions
        .filter((d) => d.action === 'keep')
        .map((d) => d.folder)
        .sort(),
    ).toEqual([...keep].sort());
    expect(
      decisions
        .filter((d) => d.action === 'remove')
        .map((d) => d.folder)
        .sort(),
    ).toEqual([...remove].sort());
    // Every folder gets exactly one decision, each with a reason.
    expect(decisions.map((d) => d.folder).sort()).toEqual(entries.map((e) => e.folder).sort());
    expect(decisions.every((d) => d.reason.length > 0)).toBe(true);
    for (const [folder, reason] of Object.entries(reasons)) expect(decisions.find((d) => d.folder === folder)?.reason, folder).toMatch(reason);
  });

  it('never removes the newest valid backup of any database, whatever the order given', () => {
    const entries = [b('a@3'), b('b@9'), b('a@9'), b('c@2'), b('b@1'), b('a@1'), b('a@2'), b('b@5')];
    const removed = decideRetention([...entries].reverse(), { ...RULES, keep_last: 1 }, NOW)
      .filter((d) => d.action === 'remove')
      .map((d) => d.folder)
      .sort();
    expect(removed).toEqual(['a@1', 'a@2', 'a@3', 'b@1', 'b@5']);
  });

  it.each([
    ['.20261123_071502_prod.partial-42', true],
    ['.20261123_071502_prod_pre-upgrade.partial-42', true],
    ['.20261123_071502_production.partial-42', false],
    ['.20261123_071502_staging.partial-42', false],
    ['.prod.partial-42', false],
    ['20261123_071502_prod', false],
  ])("reads the target of an unfinished folder from its name: %s is prod's: %s", (folder, isProd) => {
    expect(partialFolderOf(folder, 'prod')).toBe(isProd);
  });
});
