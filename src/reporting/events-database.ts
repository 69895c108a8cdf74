import { parseConnectionUrl, type ConnectionSpec } from '../engine/connection.js';
import type { EngineContext } from '../engine/context.js';
import { resolveTarget } from '../engine/targets.js';

// Where invocation events are written: DBOPS_EVENTS_URL, else the database of the configured
// events target (default dev, as the old commands recorded into the local development
// database). Never a protected target unless the config allows it, and never the database a
// command merely works on: a backup of production does not write into production. Undefined:
// the events wait in the spool.

export function eventsDatabase(ctx: EngineContext): ConnectionSpec | undefined {
  const url = ctx.env.DBOPS_EVENTS_URL;
  if (url !== undefined && url !== '') {
    try {
      return parseConnectionUrl(url, 'DBOPS_EVENTS_URL', ctx.env);
    } catch {
      return undefined;
    }
  }
  const name = ctx.config.events.target;
  if (name === null) return undefined;
  try {
    const target = resolveTarget(ctx.config, { target: name }, ctx.env);
    return target.protected && !ctx.config.events.allow_protected ? undefined : target.spec;
  } catch {
    return undefined;
  }
}

/** The database history reads: the one named (--target/--url), else where events are written. */
export function eventsDatabaseFor(ctx: EngineContext, choice: { target?: string | undefined; url?: string | undefined }): ConnectionSpec | undefined {
  if (choice.target !== undefined || choice.url !== undefined) return resolveTarget(ctx.config, choice, ctx.env).spec;
  return eventsDatabase(ctx);
}
