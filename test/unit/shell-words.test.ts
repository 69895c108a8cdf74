import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shellWords } from '../../src/loader/shell-words.js';

// The slash line is split as bash splits `npx dbops <command> $ARGUMENTS`: every line the splitter
// accepts is compared with what bash itself passes to a command, word for word.

/** The words bash passes for this text (only texts the splitter accepted: nothing in them runs). */
function bashWords(text: string): string[] {
  const out = execFileSync('bash', ['--norc', '--noprofile', '-c', `printf '%s\\0' first ${text}`], {
    encoding: 'utf8',
    env: { HOME: '/home/someone', PATH: process.env.PATH },
  });
  // printf with no word after the format would still print one empty one: "first" goes ahead of the rest.
  return out.split('\0').slice(1, -1);
}

function words(text: string): string[] {
  const split = shellWords(text);
  if ('refused' in split) throw new Error(`refused: ${split.refused}`);
  return split.words;
}

describe('shell words', () => {
  it('reads double quotes by bash\'s rules: only \\$ \\` \\" \\\\ and \\newline are escapes', () => {
    expect(words('"\\` "')).toEqual(['` ']);
    expect(words('"a\\b" "\\$x" "\\\\" "\\"q\\""')).toEqual(['a\\b', '$x', '\\', '"q"']);
    expect(words('"line\\\nnext"')).toEqual(['linenext']);
    expect(words(`'it''s' a\\ b "" ''`)).toEqual(['its', 'a b', '', '']);
    expect(words("--url 'postgres://u:p w@h/d'")).toEqual(['--url', 'postgres://u:p w@h/d']);
  });

  it('refuses what bash would run or expand, by name', () => {
    const refused = (text: string) => ('refused' in shellWords(text) ? (shellWords(text) as { refused: string }).refused : 'accepted');
    expect(refused('a; b')).toBe('";"');
    expect(refused('a && b')).toBe('"&"');
    expect(refused('$(id)')).toBe('an expansion ($…)');
    expect(refused('"$(id)"')).toBe('an expansion ($…)');
    expect(refused('"`id`"')).toBe('a command substitution');
    expect(refused('$HOME')).toBe('an expansion ($…)');
    expect(refused("$'\\x41'")).toBe('an expansion ($…)');
    expect(refused('*.sql')).toBe('a pattern');
    expect(refused('{a,b}')).toBe('a brace expansion');
    expect(refused('# note')).toBe('a comment');
    expect(refused('a\nb')).toBe('a newline (it ends the command)');
    expect(refused('"open')).toBe('an unterminated double quote');
    expect(refused("'open")).toBe('an unterminated single quote');
    expect(refused('a#b "$" "x$" {a} ~/x')).toBe('accepted');
  });

  it('agrees with bash on every line it accepts', () => {
    const alphabet = fc.constantFrom('a', 'b', ' ', '\\', '"', "'", '$', '`', '~', '/', '#', '=', '{', '}', ',', '.', '-', '!', '\n', '\t', 'é');
    let compared = 0;
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 14 }).map((cs) => cs.join('')),
        (text) => {
          const split = shellWords(text);
          if ('refused' in split) return true;
          compared++;
          const ours = split.words.map((w) => w.replace(/^\/root|^\/home\/[^/]+/, '~'));
          const theirs = bashWords(text).map((w) => w.replace(/^\/home\/someone/, '~'));
          expect(ours).toEqual(theirs);
          return true;
        },
      ),
      { numRuns: 400, seed: 20261129 },
    );
    expect(compared).toBeGreaterThan(100);
  });
});
