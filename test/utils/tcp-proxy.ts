import { createServer, connect, type Server, type Socket } from 'node:net';
import { Transform } from 'node:stream';

/**
 * A TCP proxy in front of a real service, so a test can make the service
 * unreachable (and bring it back) without touching the shared server.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private blackholed = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static forUrl(url: string): TcpProxy {
    const { hostname, port } = new URL(url);
    return new TcpProxy(hostname, Number(port));
  }

  /** The target URL rewritten to go through this proxy. */
  url(original: string): string {
    const url = new URL(original);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  async start(): Promise<this> {
    if (this.server) return this;
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      this.forward(client, upstream);
      this.forward(upstream, client);
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', resolve);
    });
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  /**
   * Cuts the path without closing anything, like a partition: every socket
   * stays open, but bytes (and FINs) in either direction are dropped, on
   * existing connections and on new ones, until restore().
   */
  blackhole(): void {
    this.blackholed = true;
  }

  /** Forwards again. What was dropped meanwhile is lost, so connections open across the cut are usually broken. */
  restore(): void {
    this.blackholed = false;
  }

  /** Cuts every connection and refuses new ones. */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  private forward(from: Socket, to: Socket): void {
    const gate = new Transform({ transform: (chunk, _encoding, done) => done(null, this.blackholed ? undefined : chunk) });
    from.pipe(gate).pipe(to, { end: false });
    gate.on('end', () => {
      if (!this.blackholed) to.end();
    });
  }
}
