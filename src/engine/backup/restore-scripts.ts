import { globToPosixRegex } from './selection.js';
import { literal, qualifiedName } from '../pg/sql.js';

// The two scripts written into every backup folder. restore.sh needs only bash, sha256sum,
// psql and pg_restore, so a backup outlives this tool; restore-full.sh hands the folder to
// `dbops restore-db`, which adds the safety snapshot and the verification.
//
// Values from outside (the source database's name, the folder, the project path) reach a script
// only as single-quoted assignments: a name carrying a newline and `$(…)` stays text. They never
// go into a comment (a newline there ends the comment and starts a command) or a double-quoted
// string (where `$(…)` and backquotes still run).

/** One word for bash, whatever it holds: inside single quotes nothing is special but the quote. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The SQL restore.sh asks to tell a Supabase project (a schema owned by a platform role) from a plain database. */
export function platformProbe(platformRoles: readonly string[]): string {
  const patterns = platformRoles.map((glob) => literal(globToPosixRegex(glob)));
  return `SELECT count(*) FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner WHERE r.rolname ~ ANY (ARRAY[${patterns.join(', ')}]::text[])`;
}

export interface ScriptCsvTable {
  schema: string;
  table: string;
  /** Relative to the backup folder. */
  file: string;
  /** The platform's table: in a project it keeps its definition and gets the rows with the platform's. */
  platform: boolean;
  /** A platform table that references a table of lists/project-rows.list: loaded after those rows. */
  afterRows: boolean;
}

/** A bash array of (file, COPY statement) pairs, every element single-quoted. */
function csvArray(name: string, tables: readonly ScriptCsvTable[]): string {
  const items = tables.flatMap((t) => [shellQuote(t.file), shellQuote(`COPY ${qualifiedName(t)} FROM STDIN WITH (FORMAT csv, HEADER true)`)]);
  return `${name}=(${items.join(' ')})`;
}

export function restoreSh(info: {
  folder: string;
  createdAt: string;
  source: string;
  hasAuthUsers: boolean;
  platformRoles: readonly string[];
  /** Critical tables whose rows only their CSV holds (the dump has their definition only). */
  csvTables?: readonly ScriptCsvTable[];
}): string {
  const csv = info.csvTables ?? [];
  return `#!/usr/bin/env bash
# Restores this dbops backup with PostgreSQL's own tools only: bash, sha256sum, gzip, psql, pg_restore.
# No Node, no dbops. Run ./restore.sh --help for the backup it holds and the usage.
set -euo pipefail

backup_folder=${shellQuote(info.folder)}
backup_taken=${shellQuote(info.createdAt)}
backup_source=${shellQuote(info.source)}
platform_probe=${shellQuote(platformProbe(info.platformRoles))}
# The critical tables' rows are stored once, as data/*.csv.gz (the dump holds their definitions):
# pairs of file and COPY statement, loaded after the other tables' rows, before keys and indexes.
${csvArray(
  'csv_app',
  csv.filter((t) => !t.platform),
)}
${csvArray(
  'csv_platform',
  csv.filter((t) => t.platform && !t.afterRows),
)}
${csvArray(
  'csv_platform_after',
  csv.filter((t) => t.platform && t.afterRows),
)}

usage() {
  # %q shows a name with control characters as $'…' instead of sending them to the terminal.
  printf 'Restores backup %q (taken %q from %q)\\n' "$backup_folder" "$backup_taken" "$backup_source"
  cat <<'USAGE'
with PostgreSQL's own tools only: bash, sha256sum, gzip, psql, pg_restore. No Node, no dbops.

Usage: PGHOST=… PGPORT=5432 PGUSER=… PGPASSWORD=… PGDATABASE=… ./restore.sh [--yes] [--jobs N] [--no-owner]
The target comes from libpq's environment variables only, so no password appears in argv.
For an empty database or a new Supabase project. To restore over a database that already holds
this backup's objects, use dbops restore-db (safety snapshot, rollback, verification).
WARNING: objects of the target database that this backup holds are dropped and replaced.

Into a Supabase project (a schema owned by a platform role) only the app's objects and the rows
of the platform's tables are restored (lists/project*.list); what the platform owns is left as
the project has it. Into a plain database everything is (lists/plain*.list).
Order: checksums → roles.sql → schemas → extensions.sql → pg_restore --clean --if-exists: tables,
       rows (-j N), the critical tables' rows from data/*.csv.gz, indexes and keys (-j N)
       → policies, triggers, rules (one job) → realtime.sql → NOTIFY pgrst, 'reload schema'.
grants.sql is the grants of the dump, for reading: pg_restore restores them with their objects.
USAGE
}

here="$(cd "$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
yes=0
jobs=2
owner=()
while [ $# -gt 0 ]; do
  case "$1" in
    --yes) yes=1 ;;
    --jobs) jobs="\${2:?--jobs needs a number}"; shift ;;
    --no-owner) owner=(--no-owner) ;;
    -h|--help) usage; exit 0 ;;
    *) echo "restore.sh: unknown option $1 (valid: --yes, --jobs N, --no-owner)" >&2; exit 2 ;;
  esac
  shift
done

for tool in psql pg_restore sha256sum gzip; do
  command -v "$tool" >/dev/null || { echo "restore.sh: $tool not found; install the PostgreSQL client tools (apt-get install postgresql-client)" >&2; exit 1; }
done
if [ -z "\${PGDATABASE:-}" ]; then
  echo "restore.sh: set PGDATABASE (and PGHOST, PGPORT, PGUSER, PGPASSWORD) to the database to restore into" >&2
  exit 2
fi

cd "$here"
echo "Checking checksums…"
sha256sum --quiet -c checksums.sha256 || { echo "restore.sh: checksums do not match; the backup is damaged, nothing was restored" >&2; exit 1; }

target="\${PGUSER:-$USER}@\${PGHOST:-local}:\${PGPORT:-5432}/$PGDATABASE"
if [ "$yes" -ne 1 ]; then
  if [ ! -t 0 ]; then echo "restore.sh: not a terminal; pass --yes to restore into $target" >&2; exit 2; fi
  read -r -p "Overwrite $target with this backup? Type yes: " answer
  [ "$answer" = "yes" ] || { echo "Cancelled; nothing was changed."; exit 1; }
fi

# Notices ("schema already exists, skipping") are expected on re-runs; warnings and errors still show.
export PGOPTIONS="\${PGOPTIONS:-} -c client_min_messages=warning"
run_psql() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
# Each CSV as it was written: ISO dates, UTC, so every value reads back as it was.
load_csv() {
  while [ $# -ge 2 ]; do
    gzip -dc -- "$1" | run_psql -c "SET DateStyle = 'ISO, YMD'" -c "SET IntervalStyle = 'postgres'" -c "SET TimeZone = 'UTC'" -c "$2"
    shift 2
  done
}

kind=plain
[ "$(run_psql -At -c "$platform_probe")" = 0 ] || kind=project
superuser="$(run_psql -At -c 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user')"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "lists/$kind.list" "$work/main.list"
# Only a superuser can make an event trigger; into a plain database anyone else restores without them.
if [ "$kind" = plain ] && [ "$superuser" != t ]; then grep -v '^[0-9]*; [0-9]* [0-9]* EVENT TRIGGER ' "lists/$kind.list" > "$work/main.list" || true; fi
echo "Target: $([ "$kind" = project ] && echo 'a Supabase project: the platform'"'"'s objects are left as they are' || echo 'a plain database')"

# An empty --dbname makes libpq take the database from PGDATABASE, whatever characters it holds.
echo "1/6 roles";       run_psql -f roles.sql
# The target's default privileges would add grants to what the restore creates (see reset-default-privileges.ts).
run_psql -f reset_default_privileges.sql
echo "2/6 schemas"
pg_restore --clean --if-exists --exit-on-error "\${owner[@]}" --use-list "lists/$kind-schemas.list" --dbname '' dump
echo "3/6 extensions";  run_psql -f extensions.sql
echo "4/6 schema and data (pg_restore -j $jobs)"
if [ "$kind" = project ]; then
  # The platform's rows go into the project's own tables, parents first, before the app's foreign
  # keys into them and its triggers on them exist.
  pg_restore --clean --if-exists --exit-on-error "\${owner[@]}" --section=pre-data --use-list "$work/main.list" --dbname '' dump
  load_csv "\${csv_platform[@]}"
  pg_restore --data-only --exit-on-error --use-list lists/project-rows.list --dbname '' dump
  load_csv "\${csv_platform_after[@]}"
else
  pg_restore --clean --if-exists --exit-on-error "\${owner[@]}" --section=pre-data --use-list "$work/main.list" --dbname '' dump
  load_csv "\${csv_platform[@]}" "\${csv_platform_after[@]}"
fi
pg_restore --exit-on-error "\${owner[@]}" --section=data --jobs "$jobs" --use-list "$work/main.list" --dbname '' dump
load_csv "\${csv_app[@]}"
pg_restore --exit-on-error "\${owner[@]}" --section=post-data --jobs "$jobs" --use-list "$work/main.list" --dbname '' dump
echo "5/6 policies, triggers, rules"
pg_restore --exit-on-error "\${owner[@]}" --use-list "lists/$kind-serial.list" --dbname '' dump
echo "6/6 realtime";    run_psql -f realtime.sql
run_psql -c "NOTIFY pgrst, 'reload schema'"
echo "Restored into $target. Compare row counts with row_counts.json; restart API servers."
${info.hasAuthUsers ? '# auth_users.sql (users without passwords) is for moving accounts to another project; the dump already holds auth.\n' : ''}`;
}

export function restoreFullSh(projectRoot: string): string {
  return `#!/usr/bin/env bash
# Restores this backup with dbops (safety snapshot, checks, verification):
#   ./restore-full.sh [--target NAME | --url URL] [--yes] …   (options of dbops restore-db)
# Runs from the dbops project it was made by; set DBOPS_HOME to use another checkout.
set -euo pipefail
made_by=${shellQuote(projectRoot)}
here="$(cd "$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
cd "\${DBOPS_HOME:-$made_by}"
exec npx --no-install dbops restore-db "$here" "$@"
`;
}
