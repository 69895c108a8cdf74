// import() of a package named at run time (one that is optional, so never bundled). Where dbops
// runs as a classic script (bin/launch-built.js compiles it with V8's code cache), a script has
// no import() of its own without an experimental flag; the launcher lends its own under this
// symbol. Everywhere else the module's own import() does.

const LENT = Symbol.for('dbops.importPackage');

export function importPackage(name: string): Promise<unknown> {
  const lent = (globalThis as Record<symbol, unknown>)[LENT];
  return typeof lent === 'function' ? (lent as (name: string) => Promise<unknown>)(name) : import(name);
}
