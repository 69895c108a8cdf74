import pg from 'pg';

// The only way names and values enter SQL text we build: quoted by pg's own escapers.

export function ident(name: string): string {
  return pg.escapeIdentifier(name);
}

export function literal(value: string): string {
  return pg.escapeLiteral(value);
}

export function qualifiedName(ref: { schema: string; table: string }): string {
  return `${ident(ref.schema)}.${ident(ref.table)}`;
}

/** A tag for dollar-quoted bodies; refuses bodies that contain it rather than splice unsafely. */
export function dollarQuoted(body: string, tag = 'dbops'): string {
  const delimiter = `$${tag}$`;
  if (body.includes(delimiter)) throw new Error(`SQL body contains its own delimiter ${delimiter}`);
  return `${delimiter}${body}${delimiter}`;
}
