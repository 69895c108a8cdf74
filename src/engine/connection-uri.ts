// Where a connection URI's userinfo ends, decided in one place for the parser that connects and
// for the redactor that records arguments: if the two disagreed, a password the parser accepts
// could be half-recorded. Passwords are often pasted unencoded (`p@ss/w#rd`), so the userinfo
// runs to the LAST '@' of the text, not to the first '/', '?' or '#' as RFC 3986 would have it.
// The cost is that an '@' after the host (in a database name or a query value) must be written
// %40; the gain is that no character of a password ever lands in the host, port or path.

export interface UriParts {
  scheme: string;
  /** Raw (still percent-encoded) user, when the URI has a userinfo. */
  user: string | undefined;
  /** Raw password: everything between the user's ':' and the last '@'. */
  password: string | undefined;
  /** host[:port][/database][?params], after the userinfo. */
  rest: string;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

export function splitUri(text: string): UriParts | undefined {
  const match = SCHEME.exec(text);
  if (match === null) return undefined;
  const after = text.slice(match[0].length);
  const at = after.lastIndexOf('@');
  if (at < 0) return { scheme: match[1]!, user: undefined, password: undefined, rest: after };
  const userinfo = after.slice(0, at);
  const colon = userinfo.indexOf(':');
  return {
    scheme: match[1]!,
    user: colon < 0 ? userinfo : userinfo.slice(0, colon),
    password: colon < 0 ? undefined : userinfo.slice(colon + 1),
    rest: after.slice(at + 1),
  };
}
