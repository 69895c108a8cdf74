#!/usr/bin/env node
// npm run faults: the fault suite (test/faults/) on its own, then one table of every case —
// result, case, category, expected, observed, data lost, secret leaked — and a last line
// "faults: N/N held". Exit 0 only when every case held. The same files run inside `npm test`
// too, where each file prints its own part of the table.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const reportDir = mkdtempSync(path.join(tmpdir(), 'dbops-faults-'));
const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
const run = spawnSync(process.execPath, [vitest, 'run', 'test/faults', '--reporter=dot', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, FAULTS_REPORT_DIR: reportDir },
});

const file = path.join(reportDir, 'rows.jsonl');
const rows = existsSync(file)
  ? readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  : [];
rmSync(reportDir, { recursive: true, force: true });
const order = ['backup', 'restore', 'rollback', 'locks', 'server', 'roles', 'hostile', 'properties'];
const rank = (r) => (order.includes(r.file) ? order.indexOf(r.file) : order.length);
rows.sort((a, b) => rank(a) - rank(b));

const yes = (b) => (b ? 'yes' : 'no');
const cell = (text) => String(text).replace(/\|/g, '\\|').replace(/\s+/g, ' ');
console.log('');
console.log('| result | case | category | expected | observed | data lost | secret leaked |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  const observed = `${r.observed}${!r.held && r.owner ? ` [owner: ${r.owner}]` : ''}`;
  console.log(
    `| ${!r.held ? 'FAILED' : r.limit ? 'held (limit)' : 'held'} | ${cell(r.name)} | ${r.category} | ${cell(r.expected)} | ${cell(observed)} | ${yes(r.dataLost)} | ${yes(r.secretLeaked)} |`,
  );
}
const held = rows.filter((r) => r.held).length;
console.log('');
const limits = rows.filter((r) => r.held && r.limit).length;
if (limits) console.log(`${limits} of the rows held show a deliberate limit ("held (limit)"), documented in README's safety section.`);
console.log(`faults: ${held}/${rows.length} held`);
process.exitCode = run.status === 0 && held === rows.length && rows.length > 0 ? 0 : 1;
