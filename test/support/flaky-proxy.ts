import net from 'node:net';

// A TCP proxy in front of the real S3 server that cuts connections the way a bad network does:
// once a connection has carried `afterBytes` towards the server, both ends are destroyed
// mid-request. `drops` limits how many connections are cut (Infinity: the network stays bad).
// The server behind it is the real one; only the wire between is made unreliable.

export interface FlakyProxy {
  endpoint: string;
  /** Connections cut so far. */
  cut: () => number;
  close: () => Promise<void>;
}

export async function startFlakyProxy(upstream: string, options: { afterBytes: number; drops: number }): Promise<FlakyProxy> {
  const target = new URL(upstream);
  let cut = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const server = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(server);
    let carried = 0;
    const drop = () => {
      client.destroy();
      server.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      carried += chunk.length;
      if (cut < options.drops && carried > options.afterBytes) {
        cut++;
        drop();
        return;
      }
      server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', drop);
    server.on('close', drop);
    client.on('error', drop);
    server.on('error', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    cut: () => cut,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
