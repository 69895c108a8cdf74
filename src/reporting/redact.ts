import { splitUri } from '../engine/connection-uri.js';

// What is recorded of a command's arguments (artifact_events, the spool). Secrets are taken out
// by parsing, with the same rule the connection parser uses (the userinfo runs to the last '@'),
// so whatever password a URL can carry to the server cannot survive into a record. Where the
// text is ambiguous, more is removed, never less.

export const REDACTED = '[redacted]';

const SECRET_KEY = /password|secret|token|passwd|pwd/i;
const SCHEME = /[a-z][a-z0-9+.-]*:\/\//i;
// libpq's key=value form (and a URI's ?password=): the value may hold anything, so all that
// follows it goes, unless it is a quoted conninfo value whose end can be found.
const PASSWORD_KEY = /\bpassword\s*=\s*/i;

/** The arguments as recorded: URLs lose their password, keys named like a secret lose their value. */
export function redact(input: unknown): unknown {
  if (typeof input === 'string') return redactText(input);
  if (Array.isArray(input)) return input.map(redact);
  if (input === null || typeof input !== 'object') return input;
  return Object.fromEntries(
    Object.entries(input as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, SECRET_KEY.test(k) ? REDACTED : redact(v)]),
  );
}

export function redactText(text: string): string {
  return redactPasswordKeys(redactUris(text));
}

function redactUris(text: string): string {
  const match = SCHEME.exec(text);
  if (match === null) return text;
  const head = text.slice(0, match.index);
  const parts = splitUri(text.slice(match.index))!;
  const scheme = text.slice(match.index, match.index + parts.scheme.length + 3);
  if (parts.password !== undefined) {
    // Everything up to the last '@' is userinfo: no other URI's password can follow it.
    return `${head}${scheme}${parts.user}:${REDACTED}@${redactUris(parts.rest)}`;
  }
  if (parts.user !== undefined) return `${head}${scheme}${parts.user}@${redactUris(parts.rest)}`;
  // No '@' at all: "scheme://user:secret" with the '@' forgotten. A ':' followed by anything but
  // a port number may be a password, so it goes with the rest of the word.
  const authority = /^[^/?#\s]*/.exec(parts.rest)![0];
  const colon = authority.indexOf(':');
  if (colon >= 0 && !/^\d*$/.test(authority.slice(colon + 1))) {
    const word = /^\S*/.exec(parts.rest)![0];
    return `${head}${scheme}${authority.slice(0, colon)}:${REDACTED}${redactUris(parts.rest.slice(word.length))}`;
  }
  return `${head}${scheme}${authority}${redactUris(parts.rest.slice(authority.length))}`;
}

function redactPasswordKeys(text: string): string {
  const match = PASSWORD_KEY.exec(text);
  if (match === null) return text;
  const start = match.index + match[0].length;
  const head = text.slice(0, start);
  if (text[start] === "'") {
    const end = closingQuote(text, start + 1);
    if (end >= 0) return `${head}${REDACTED}${redactPasswordKeys(text.slice(end + 1))}`;
  }
  return `${head}${REDACTED}`;
}

/** Index of the quote that ends a conninfo value (a backslash escapes the next character). */
function closingQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === "'") return i;
  }
  return -1;
}
