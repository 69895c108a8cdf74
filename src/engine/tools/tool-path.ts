import { existsSync, readdirSync, realpathSync } from 'node:fs';
import path from 'node:path';

// Where a PostgreSQL client tool is run from: $PG_BIN_DIR/<tool> when set; otherwise the name
// on PATH — except behind Debian's and Ubuntu's pg_wrapper. There /usr/bin/psql, pg_dump and
// pg_restore are one Perl script (postgresql-common) that picks an installed version and then
// runs /usr/lib/postgresql/<major>/bin/<tool>; starting Perl costs about 50 ms a call, and a
// restore calls a dozen tools. When exactly one version of the tool is installed the wrapper
// can only run that one binary, so dbops runs it directly. With several versions the wrapper
// keeps choosing (its choice can depend on configuration dbops does not read). Looked up at every
// call, not cached: a long-running MCP server must see a client version installed or removed
// meanwhile, and the look-up (a few stat calls) costs nothing beside starting a process.

/** The Debian layout pg_wrapper runs its tools from, and the wrapper itself (postgresql-common). */
const DEBIAN_ROOT = '/usr/lib/postgresql';
const PG_WRAPPER = '/usr/share/postgresql-common/pg_wrapper';

export function toolPath(tool: string, env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.PG_BIN_DIR;
  if (dir !== undefined && dir !== '') return path.join(dir, tool);
  return behindWrapper(tool, env.PATH ?? '') ?? tool;
}

/** The one binary pg_wrapper would run for `tool`, when the tool first on PATH is the wrapper. */
function behindWrapper(tool: string, searchPath: string): string | undefined {
  // An empty PATH entry is the current directory, as for execvp.
  const onPath = searchPath
    .split(path.delimiter)
    .map((d) => path.join(d === '' ? '.' : d, tool))
    .find((file) => existsSync(file));
  if (onPath === undefined) return undefined;
  try {
    if (realpathSync(onPath) !== PG_WRAPPER) return undefined;
    const installed = readdirSync(DEBIAN_ROOT)
      .map((version) => path.join(DEBIAN_ROOT, version, 'bin', tool))
      .filter((file) => existsSync(file));
    return installed.length === 1 ? installed[0] : undefined;
  } catch {
    return undefined;
  }
}
