// Run by the fault suite inside a mount namespace of its own (unshare -m): a throwaway PostgreSQL
// whose target database lives in a tablespace on a small tmpfs, so a restore fills the server's
// disk while its WAL (on the normal disk) does not — an ERROR, not a server crash. Prints one
// JSON line {adminUrl, targetUrl} when ready, then keeps the server until stdin closes (the
// parent finished, or died), stops it and exits; the namespace and its mount go with it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';

const [, , distDir, sizeMb] = process.argv;
const { startEmbeddedServer } = await import(path.join(distDir, 'engine/pg/embedded-server.js'));

const small = mkdtempSync('/tmp/dbops-fault-small-');
execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0700`, 'tmpfs', small]);
execFileSync('chown', ['postgres:postgres', small]);

const server = await startEmbeddedServer({ password: process.env.FAULT_SERVER_PASSWORD });
const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();

const admin = new pg.Client({ connectionString: server.adminUrl });
await admin.connect();
await admin.query(`CREATE TABLESPACE small LOCATION '${small}'`);
await admin.query('CREATE DATABASE target TABLESPACE small');
await admin.query('CREATE DATABASE source');
await admin.end();
const url = (db) => server.adminUrl.replace(/\/postgres$/, `/${db}`);
process.stdout.write(`${JSON.stringify({ adminUrl: server.adminUrl, sourceUrl: url('source'), targetUrl: url('target') })}\n`);
