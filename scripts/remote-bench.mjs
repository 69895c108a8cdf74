#!/usr/bin/env node
// Off-site copy throughput: a ~500 MB backup pushed to a real S3 server (radosgw), pushed again
// (nothing to upload), and fetched back; each transfer in its own process, which reports its own
// peak RSS, so the numbers are the engine's and not this script's.
//   npm run build && node scripts/remote-bench.mjs [--mb 500]
// Needs a PostgreSQL (BENCH_DATABASE_URL or TEST_DATABASE_URL, an admin URL; default
// postgres://postgres@127.0.0.1:5432/postgres) and an S3 server: S3_ENDPOINT/S3_ACCESS_KEY_ID/
// S3_SECRET_ACCESS_KEY if set, else ../shared/tools/s3-server/start.sh is run (and stopped after).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => path.join(root, 'dist', p);
if (!existsSync(dist('engine/remote/push-backup.js'))) {
  process.stderr.write('remote-bench: dist/ is not built; run npm run build first.\n');
  process.exit(2);
}
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { loadConfig } = await import(dist('engine/config.js'));
const context = (env) => ({ root, config: loadConfig(root, {}).config, env });

// ---- child mode: one transfer, then its result and this process's peak RSS as one JSON line
if (process.argv[2] === '--child') {
  const [, , , op, a, b] = process.argv;
  const started = performance.now();
  const result =
    op === 'push'
      ? await (await import(dist('engine/remote/push-backup.js'))).pushBackup({ backup: a, remote: b }, context(process.env))
      : await (await import(dist('engine/remote/fetch-backup.js'))).fetchBackup({ url: a, into: b }, context(process.env));
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ seconds, maxRssMb: process.resourceUsage().maxRSS / 1024, result })}\n`);
  process.exit(0);
}

const mb = Number(process.argv[process.argv.indexOf('--mb') + 1] || 500) || 500;
const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const pg = (await import('pg')).default;
const { from: copyFrom } = (await import('pg-copy-streams')).default;
const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');

const cleanup = [];
const log = (line) => process.stderr.write(`[remote-bench] ${line}\n`);
try {
  const server = startServer();
  const database = `dbops_remote_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  cleanup.push(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;

  log(`loading ${mb} MB of random bytes into 4 tables of ${database}`);
  await loadRandom(url.toString(), mb);
  const work = await mkdtemp(path.join(tmpdir(), 'dbops-remote-bench-'));
  cleanup.push(() => rm(work, { recursive: true, force: true }));
  const { backupDatabase } = await import(dist('engine/backup/backup.js'));
  log('backing up');
  const backup = await backupDatabase({ url: url.toString(), out: path.join(work, 'backups') }, context({}));

  const s3 = new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  const bucket = `dbops-bench-${randomBytes(4).toString('hex')}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  cleanup.push(() => emptyBucket(s3, bucket));
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_ENDPOINT_URL: server.endpoint,
    AWS_REGION: 'us-east-1',
    DBOPS_S3_PATH_STYLE: '1',
    DBOPS_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
  };
  const remote = `s3://${bucket}/bench`;
  log('pushing');
  const push = await child(['push', backup.backupDir, remote], env);
  log('pushing again (a resumed push with nothing left to do)');
  const again = await child(['push', backup.backupDir, remote], env);
  log('fetching');
  const fetched = await child(['fetch', push.result.url, path.join(work, 'fetched')], env);

  const size = push.result.backupBytes / 1e6;
  const rate = (bytes, s) => `${(bytes / 1e6 / s).toFixed(1)} MB/s`;
  const rows = [
    ['backup', `${size.toFixed(1)} MB in ${push.result.files} files (${backup.backupDir})`],
    [
      'push',
      `${push.seconds.toFixed(1)} s, ${rate(push.result.uploadedBytes, push.seconds)} (${(push.result.uploadedBytes / 1e6).toFixed(1)} MB encrypted, ${push.result.uploaded} objects), peak RSS ${push.maxRssMb.toFixed(0)} MB`,
    ],
    [
      'push again',
      `${again.seconds.toFixed(1)} s, ${again.result.uploaded} objects uploaded, ${again.result.alreadyThere} already there, peak RSS ${again.maxRssMb.toFixed(0)} MB`,
    ],
    [
      'fetch',
      `${fetched.seconds.toFixed(1)} s, ${rate(fetched.result.downloadedBytes, fetched.seconds)} (decrypted, sha256-checked and verified), peak RSS ${fetched.maxRssMb.toFixed(0)} MB`,
    ],
  ];
  process.stdout.write(`off-site copy bench: ${server.note}; node ${process.version}\n`);
  for (const [name, text] of rows) process.stdout.write(`  ${name.padEnd(11)} ${text}\n`);
  s3.destroy();
} finally {
  for (const step of cleanup.reverse()) await step().catch((error) => log(`cleanup: ${error.message}`));
}

function startServer() {
  if (process.env.S3_ENDPOINT && process.env.S3_ACCESS_KEY_ID && process.env.S3_SECRET_ACCESS_KEY) {
    return {
      endpoint: process.env.S3_ENDPOINT,
      accessKeyId: process.env.S3_ACCESS_KEY_ID,
      secretAccessKey: process.env.S3_SECRET_ACCESS_KEY,
      note: `S3 server ${process.env.S3_ENDPOINT}`,
    };
  }
  const tool = path.resolve(root, '../shared/tools/s3-server');
  log('starting radosgw (../shared/tools/s3-server/start.sh)');
  const out = execFileSync('bash', [path.join(tool, 'start.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const env = Object.fromEntries([...out.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
  cleanup.push(async () => execFileSync('bash', [path.join(tool, 'stop.sh'), env.S3_SERVER_DIR], { stdio: 'ignore' }));
  return {
    endpoint: env.S3_ENDPOINT,
    accessKeyId: env.S3_ACCESS_KEY_ID,
    secretAccessKey: env.S3_SECRET_ACCESS_KEY,
    note: `radosgw 16 (memstore) started for this run at ${env.S3_ENDPOINT}`,
  };
}

/** 4 tables, each `mb/4` rows of 1 MiB of random bytes, streamed in with COPY (never whole in memory). */
async function loadRandom(url, mb) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (let t = 0; t < 4; t++) {
      await client.query(`CREATE TABLE blob_${t} (id int PRIMARY KEY, b bytea)`);
      const rows = Math.max(1, Math.round(mb / 4));
      const lines = (async function* () {
        for (let i = 0; i < rows; i++) yield `${i}\t\\\\x${randomBytes(1 << 20).toString('hex')}\n`;
      })();
      await pipeline(Readable.from(lines), client.query(copyFrom(`COPY blob_${t} (id, b) FROM STDIN`)));
    }
  } finally {
    await client.end();
  }
}

function child(args, env) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (b) => (out += b));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`${args[0]} exited ${code}`))));
  });
}

async function emptyBucket(s3, bucket) {
  const { ListObjectsV2Command, DeleteObjectsCommand, DeleteBucketCommand } = await import('@aws-sdk/client-s3');
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key }));
    if (keys.length === 0) break;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  s3.destroy();
}
