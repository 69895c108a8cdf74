import { homedir } from 'node:os';

// A command line split into words the way bash splits `npx dbops <command> $ARGUMENTS`, for the
// words bash would pass on unchanged: quotes and backslashes as bash reads them, `~` at the start
// of a word as the home folder. What bash would run or expand instead — operators, redirections,
// command substitution, parameter expansion, globs, brace expansion, comments — is refused by
// name rather than guessed at, so the arguments dbops acts on are the ones the shell would pass.
// (shell-quote, used before, keeps the backslash of "\` " where bash drops it.)

export type ShellWords = { words: string[] } | { refused: string };

const BLANK = /[ \t]/;
const OPERATOR = /[|&;()<>]/;
const GLOB = /[*?[]/;
// After `$`, what makes it an expansion: a name, a digit, a special parameter, ${, $(, $' and $".
const EXPANSION = /[A-Za-z0-9_{(@*#?$!'"-]/;
// Inside double quotes a backslash escapes only these (bash manual, "Double Quotes").
const DOUBLE_QUOTE_ESCAPES = new Set(['$', '`', '"', '\\', '\n']);

export function shellWords(text: string): ShellWords {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  // Unquoted characters of the current word that brace expansion looks at.
  let braces = '';
  const end = () => {
    if (!inWord) return undefined;
    if (/\{[^}]*(,|\.\.)[^}]*\}/.test(braces)) return 'a brace expansion';
    words.push(word);
    word = '';
    braces = '';
    inWord = false;
    return undefined;
  };

  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (BLANK.test(ch)) {
      const refused = end();
      if (refused) return { refused };
      continue;
    }
    if (ch === '\n') return { refused: 'a newline (it ends the command)' };
    if (OPERATOR.test(ch)) return { refused: `"${ch}"` };
    if (ch === '`') return { refused: 'a command substitution' };
    if (ch === '#' && !inWord) return { refused: 'a comment' };
    if (GLOB.test(ch)) return { refused: 'a pattern' };
    if (ch === '$' && i + 1 < text.length && EXPANSION.test(text[i + 1]!)) return { refused: 'an expansion ($…)' };
    if (ch === '~' && !inWord) {
      const next = text[i + 1];
      if (next !== undefined && next !== '/' && !BLANK.test(next) && next !== '\n') return { refused: 'a ~user expansion' };
      word += homedir();
      inWord = true;
      continue;
    }
    // bash also expands a ~ after the = (or a :) of a word shaped like an assignment: `a=~/x`.
    if (ch === '~' && /^[A-Za-z_][A-Za-z0-9_]*=(.*:)?$/.test(word)) return { refused: 'a ~ expansion' };
    if (ch === '\\') {
      const next = text[i + 1];
      i++;
      // A backslash before a newline joins the lines (no word by itself); at the very end it stays a backslash.
      if (next === '\n') continue;
      word += next ?? '\\';
      inWord = true;
      continue;
    }
    inWord = true;
    if (ch === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) return { refused: 'an unterminated single quote' };
      word += text.slice(i + 1, close);
      i = close;
      continue;
    }
    if (ch === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        const c = text[j]!;
        if (c === '\\' && j + 1 < text.length && DOUBLE_QUOTE_ESCAPES.has(text[j + 1]!)) {
          if (text[j + 1] !== '\n') word += text[j + 1];
          j++;
        } else if (c === '`') {
          return { refused: 'a command substitution' };
        } else if (c === '$' && j + 1 < text.length && EXPANSION.test(text[j + 1]!) && text[j + 1] !== "'" && text[j + 1] !== '"') {
          return { refused: 'an expansion ($…)' };
        } else {
          word += c;
        }
      }
      if (j >= text.length) return { refused: 'an unterminated double quote' };
      i = j;
      continue;
    }
    word += ch;
    braces += ch;
  }
  const refused = end();
  return refused ? { refused } : { words };
}
