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

export function restoreSh(info: { folder: string; createdAt: string; source: string; hasAuthUsers: boolean }): string {
  return `#!/usr/bin/env bash
# Restores this dbops backup with PostgreSQL's own tools only: bash, sha256sum, psql, pg_restore.
# No Node, no dbops. Run ./restore.sh --help for the backup it holds and the usage.
set -euo pipefail

backup_folder=${shellQuote(info.folder)}
backup_taken=${shellQuote(info.createdAt)}
backup_source=${shellQuote(info.source)}

usage() {
  # %q shows a name with control characters as $'…' instead of sending them to the terminal.
  printf 'Restores backup %q (taken %q from %q)\\n' "$backup_folder" "$backup_taken" "$backup_source"
  cat <<'USAGE'
with PostgreSQL's own tools only: bash, sha256sum, psql, pg_restore. No Node, no dbops.

Usage: PGHOST=… PGPORT=5432 PGUSER=… PGPASSWORD=… PGDATABASE=… ./restore.sh [--yes] [--jobs N] [--no-owner]
The target comes from libpq's environment variables only, so no password appears in argv.
WARNING: objects of the target database that this backup holds are dropped and replaced.

Order: checksums → extensions.sql → roles.sql → pg_restore --clean --if-exists → grants.sql
       → realtime.sql → NOTIFY pgrst, 'reload schema'.
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

for tool in psql pg_restore sha256sum; do
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

echo "1/5 extensions";  run_psql -f extensions.sql
echo "2/5 roles";       run_psql -f roles.sql
echo "3/5 schema and data (pg_restore -j $jobs)"
pg_restore --clean --if-exists --exit-on-error "\${owner[@]}" --jobs "$jobs" --dbname "$PGDATABASE" dump
echo "4/5 grants";      run_psql -f grants.sql
echo "5/5 realtime";    run_psql -f realtime.sql
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
