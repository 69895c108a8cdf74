// A push in its own process, so a test can kill it with SIGKILL mid-upload: the compiled
// engine (npm test builds dist/ first), one file at a time, every progress event as a JSON line.
//   node test/support/remote-push-child.mjs <backup folder> <s3://bucket/prefix>
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { loadConfig } = await import(path.join(root, 'dist/engine/config.js'));
const { pushBackup } = await import(path.join(root, 'dist/engine/remote/push-backup.js'));
const [backup, remote] = process.argv.slice(2);
const ctx = { root, config: loadConfig(root, {}).config, env: process.env };
const result = await pushBackup({ backup, remote }, ctx, {
  filesInParallel: 1,
  onProgress: (p) => process.stdout.write(`${JSON.stringify(p)}\n`),
});
process.stdout.write(`${JSON.stringify({ phase: 'done', uploaded: result.uploaded })}\n`);
