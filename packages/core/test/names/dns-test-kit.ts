import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Packet } from 'dns-packet';

/**
 * Clients and a stand-in upstream resolver for the embedded DNS server's
 * tests, all on loopback addresses (all of 127/8 is local on `lo`, so each
 * test plays containers from addresses of its own, without root).
 */

/** A port in the unprivileged range, different per test file. */
export function randomPort(): number {
  return 20_000 + Math.floor(Math.random() * 10_000);
}

/** A query for `name` of `type`, with `edns` as its advertised UDP size when given. */
export function query(name: string, type: 'A' | 'AAAA' | 'PTR' | 'TXT' = 'A', options: { id?: number; edns?: number } = {}): Buffer {
  const packet: Packet = {
    type: 'query',
    id: options.id ?? 4242,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: 'IN' }],
  };
  if (options.edns !== undefined) {
    packet.additionals = [
      { type: 'OPT', name: '.', udpPayloadSize: options.edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] },
    ];
  }
  return dnsPacket.encode(packet);
}

/** Sends `message` over UDP from `from` and waits for one reply, or undefined after `timeoutMs`. */
export async function askUdp(message: Buffer, from: string, to: string, port: number, timeoutMs = 2000): Promise<Buffer | undefined> {
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: from, port: 0 }, () => resolve());
    });
    return await new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      socket.on('message', (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      socket.send(message, port, to);
    });
  } finally {
    socket.close();
  }
}

/**
 * Sends `messages` over one TCP connection from `from` and collects `expect`
 * replies (or what came within `timeoutMs`); `halfClose` shuts the sending
 * side right after the queries, as some clients do.
 */
export async function askTcp(
  messages: readonly Buffer[],
  from: string,
  to: string,
  port: number,
  expect = messages.length,
  timeoutMs = 3000,
  halfClose = false,
): Promise<Buffer[]> {
  const socket = connect({ host: to, port, localAddress: from, allowHalfOpen: true });
  const replies: Buffer[] = [];
  try {
    return await new Promise<Buffer[]>((resolve, reject) => {
      let buffered = Buffer.alloc(0);
      const timer = setTimeout(() => resolve(replies), timeoutMs);
      socket.on('error', reject);
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(replies);
      });
      socket.on('connect', () => {
        socket.write(Buffer.concat(messages.map(frame)));
        if (halfClose) socket.end();
      });
      socket.on('data', (chunk) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          replies.push(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
          buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
        }
        if (replies.length >= expect) {
          clearTimeout(timer);
          resolve(replies);
        }
      });
    });
  } finally {
    socket.destroy();
  }
}

/** `message` with TCP's 2-byte length before it. */
export function frame(message: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(message.length);
  return Buffer.concat([length, message]);
}

/** Decodes a reply, with its rcode as a number (dns-packet gives a name). */
export function decode(reply: Buffer | undefined): DecodedPacket & { rcodeNumber: number } {
  if (reply === undefined) throw new Error('no reply');
  return Object.assign(dnsPacket.decode(reply), { rcodeNumber: reply.readUInt16BE(2) & 0xf });
}

/** The A records' addresses in a decoded reply, in order. */
export function addressesOf(packet: DecodedPacket): string[] {
  return (packet.answers ?? []).filter((a): a is Answer & { data: string } => a.type === 'A').map((a) => a.data);
}

/** What the stand-in upstream does with a question, by name. */
export type UpstreamBehaviour = (
  question: string,
  reply: (answers: Answer[], options?: { id?: number; name?: string }) => Buffer,
) => Buffer | 'silent' | undefined;

/** A stand-in upstream resolver on UDP and TCP: answers every A question with 192.0.2.1 unless `behaviour` says otherwise. */
export class TestUpstream {
  /** Every question it received, with the transport and id. */
  readonly received: { name: string; transport: 'udp' | 'tcp'; id: number; from: string; fromPort: number }[] = [];
  private readonly udp: UdpSocket = createSocket('udp4');
  private readonly tcp: Server;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly address: string,
    readonly port: number,
    private readonly behaviour: UpstreamBehaviour = () => undefined,
  ) {
    this.tcp = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {});
      let buffered = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          const message = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
          buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
          const reply = this.reply(message, 'tcp', socket.remoteAddress ?? '', socket.remotePort ?? 0);
          if (reply !== undefined) socket.write(frame(reply));
        }
      });
    });
  }

  /** Binds UDP and TCP. */
  async start(): Promise<this> {
    this.udp.on('message', (message, from) => {
      const reply = this.reply(message, 'udp', from.address, from.port);
      if (reply !== undefined) this.udp.send(reply, from.port, from.address);
    });
    await new Promise<void>((resolve) => this.udp.bind(this.port, this.address, resolve));
    await new Promise<void>((resolve) => this.tcp.listen(this.port, this.address, resolve));
    return this;
  }

  /** `host:port`, as a sandbox's upstream. */
  get upstream(): string {
    return `${this.address}:${this.port}`;
  }

  private reply(message: Buffer, transport: 'udp' | 'tcp', from: string, fromPort: number): Buffer | undefined {
    try {
      return this.replyOrThrow(message, transport, from, fromPort);
    } catch {
      // The fuzz test forwards odd names; a real upstream would answer FORMERR, this one keeps silent.
      return undefined;
    }
  }

  private replyOrThrow(message: Buffer, transport: 'udp' | 'tcp', from: string, fromPort: number): Buffer | undefined {
    const packet = dnsPacket.decode(message);
    const question = packet.questions?.[0];
    if (question === undefined) return undefined;
    this.received.push({ name: question.name, transport, id: packet.id ?? 0, from, fromPort });
    const reply = (answers: Answer[], options: { id?: number; name?: string } = {}): Buffer =>
      dnsPacket.encode({
        type: 'response',
        id: options.id ?? packet.id ?? 0,
        flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
        questions: [{ ...question, name: options.name ?? question.name }],
        answers,
      });
    const custom = this.behaviour(question.name, reply);
    if (custom === 'silent') return undefined;
    return custom ?? reply([{ type: 'A', class: 'IN', name: question.name, ttl: 60, data: '192.0.2.1' }]);
  }

  /** Closes everything. */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.udp.close(() => resolve()));
    await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
  }
}
