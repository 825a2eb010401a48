import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';

/**
 * The UDP socket and TCP server the embedded DNS server keeps at one
 * address, passing every message to one handler and sending back what it
 * returns.
 *
 * @module
 */

/** Answers one message; undefined means no reply. Must not reject. */
export type MessageHandler = (message: Buffer, source: string, transport: 'udp' | 'tcp') => Promise<Buffer | undefined>;

/** Limits on TCP clients. */
export interface TcpLimits {
  /** A connection silent this long is closed. */
  readonly idleTimeoutMs: number;
  /** Connections beyond this many at once are refused. */
  readonly maxConnections: number;
  /** Queries answered at once on one connection; reading pauses beyond. */
  readonly maxPipelined: number;
}

const TCP_LENGTH_SIZE = 2;

/** UDP and TCP at one address and port. */
export class AddressListener {
  private readonly udp: UdpSocket;
  private readonly tcp: Server;
  private readonly connections = new Set<Socket>();
  private closed = false;

  private constructor(
    readonly address: string,
    private readonly handle: MessageHandler,
    private readonly limits: TcpLimits,
    private readonly log: (line: string) => void,
  ) {
    this.udp = createSocket({ type: 'udp4' });
    // Half-open: a client may send its queries and shut its side; the answers still go back.
    this.tcp = createServer({ allowHalfOpen: true }, (socket) => this.serveConnection(socket));
    this.tcp.maxConnections = limits.maxConnections;
  }

  /** Binds UDP and TCP at `address`:`port`; rejects with the bind error, leaving nothing open. */
  static async open(
    address: string,
    port: number,
    handle: MessageHandler,
    limits: TcpLimits,
    log: (line: string) => void,
  ): Promise<AddressListener> {
    const listener = new AddressListener(address, handle, limits, log);
    try {
      await listener.bind(port);
    } catch (error) {
      await listener.close();
      throw error;
    }
    return listener;
  }

  private async bind(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.udp.once('error', reject);
      this.udp.bind({ address: this.address, port, exclusive: true }, () => {
        this.udp.off('error', reject);
        resolve();
      });
    });
    // From here on a socket error (the address removed from its interface, a
    // send that failed) is logged, never thrown: the server serves on.
    this.udp.on('error', (error) => this.log(`dns ${this.address}: UDP: ${error.message}`));
    this.udp.on('message', (message, from) => this.serveDatagram(message, from.address, from.port));
    await new Promise<void>((resolve, reject) => {
      this.tcp.once('error', reject);
      this.tcp.listen({ host: this.address, port, exclusive: true }, () => {
        this.tcp.off('error', reject);
        resolve();
      });
    });
    this.tcp.on('error', (error) => this.log(`dns ${this.address}: TCP: ${error.message}`));
  }

  private readonly logFailure = (error: unknown): void => this.log(`dns ${this.address}: ${String(error)}`);

  private serveDatagram(message: Buffer, address: string, port: number): void {
    void this.handle(message, address, 'udp').then((reply) => {
      if (reply === undefined || this.closed) return;
      try {
        this.udp.send(reply, port, address, (error) => {
          if (error) this.log(`dns ${this.address}: reply to ${address}:${port}: ${error.message}`);
        });
      } catch (error) {
        this.log(`dns ${this.address}: reply to ${address}:${port}: ${(error as Error).message}`);
      }
    }, this.logFailure);
  }

  private serveConnection(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.connections.add(socket);
    const source = unmapped(socket.remoteAddress ?? '');
    const { maxPipelined } = this.limits;
    let buffered = Buffer.alloc(0);
    let pending = 0;
    let ended = false;
    // Frames are taken from the buffer only while few are pending, so one
    // chunk full of small queries cannot start thousands of forwards at once;
    // the rest waits, and reading pauses until answers go out.
    const drain = (): void => {
      while (pending < maxPipelined && buffered.length >= TCP_LENGTH_SIZE) {
        const size = buffered.readUInt16BE(0);
        if (buffered.length < TCP_LENGTH_SIZE + size) break;
        const message = Buffer.from(buffered.subarray(TCP_LENGTH_SIZE, TCP_LENGTH_SIZE + size));
        buffered = buffered.subarray(TCP_LENGTH_SIZE + size);
        pending += 1;
        void this.handle(message, source, 'tcp').then((reply) => {
          pending -= 1;
          if (socket.destroyed) return;
          if (reply !== undefined) {
            const length = Buffer.alloc(TCP_LENGTH_SIZE);
            length.writeUInt16BE(reply.length);
            socket.write(Buffer.concat([length, reply]));
          }
          drain();
        }, this.logFailure);
      }
      if (pending >= maxPipelined) socket.pause();
      else if (ended && pending === 0) socket.end();
      else socket.resume();
    };
    socket.setNoDelay(true);
    socket.setTimeout(this.limits.idleTimeoutMs, () => socket.destroy());
    // A peer that resets is no news.
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.connections.delete(socket));
    socket.on('end', () => {
      ended = true;
      drain();
    });
    socket.on('data', (chunk) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      drain();
    });
  }

  /** Closes UDP, TCP and every TCP connection. Never rejects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const socket of this.connections) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => {
        try {
          this.udp.close(() => resolve());
        } catch {
          resolve(); // Never bound.
        }
      }),
      new Promise<void>((resolve) => {
        if (!this.tcp.listening) resolve();
        else this.tcp.close(() => resolve());
      }),
    ]);
  }
}

/** `::ffff:10.0.0.2` as `10.0.0.2`: the table holds IPv4 addresses as dotted quads. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}
