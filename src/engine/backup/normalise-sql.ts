// pg_dump/pg_restore 17.6+, 16.10+, 15.14+ wrap plain SQL in `\restrict <random key>` …
// `\unrestrict <key>`. The key changes on every run, which makes files unstable to diff and
// checksum, and older psql versions reject the meta-command. Our files are generated from our
// own dumps, so the lines are dropped.

export function normaliseSql(sql: string): string {
  return sql
    .split('\n')
    .filter((line) => !/^\\(un)?restrict\b/.test(line))
    .join('\n');
}
