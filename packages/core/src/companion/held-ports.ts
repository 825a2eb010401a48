import { execFile } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { PortProtocol } from '../model/endpoint.js';
import type { PortRefusal } from '../names/companion-control.js';
import type { PortLease } from '../ports/types.js';

/** Where the userland proxy sends what reaches one held port: a container's address and port. */
export interface ProxyTarget {
  /** The container's IPv4 address. */
  readonly address: string;
  /** The container port. */
  readonly port: number;
}

/**
 * Finds where a proxied port leads, from the records the companion has
 * read: the lease owner's endpoint, its address and the container port
 * that `hostPort` maps to. Undefined when the records do not say (yet).
 */
export type ProxyTargetOf = (
  owner: string,
  protocol: PortProtocol,
  hostIp: string | undefined,
  hostPort: number,
) => ProxyTarget | undefined;

/** Settings of {@link HeldPorts}. */
export interface HeldPortsSettings {
  /** Where proxied ports lead. */
  readonly targetOf: ProxyTargetOf;
  /** Writes one line to the companion's log. */
  readonly log: (line: string) => void;
  /**
   * How long a socket bound by `hold` for leases the records do not show
   * yet is kept, in milliseconds: the transaction that holds them commits
   * within it, or its process died.
   */
  readonly pendingMs?: number;
  /** How long a UDP client of the proxy is remembered without traffic, in milliseconds. Default 60 000. */
  readonly udpIdleMs?: number;
}

interface Held {
  readonly key: string;
  readonly protocol: PortProtocol;
  readonly hostIp: string | undefined;
  readonly hostPort: number;
  owner: string;
  proxy: boolean;
  /** When `hold` bound it or took it over; undefined once the records show its lease. */
  pendingSince: number | undefined;
  close(): Promise<void>;
}

const WILDCARD = '0.0.0.0';

/**
 * The host ports the companion keeps bound: one socket per published port
 * (TCP listening, UDP bound) on the lease's host address, so no process of
 * the host can take a published port, and a port a process has is refused
 * before anything is published. For a lease with `proxy`, the socket is the
 * userland proxy too: a TCP connection is spliced to the container's
 * address and port, a UDP datagram is sent on from a socket per client and
 * the answers returned. Without `proxy`, a TCP connection that reaches the
 * socket (none does while the firewall's DNAT is in place) is reset.
 */
export class HeldPorts {
  readonly #settings: HeldPortsSettings;
  readonly #held = new Map<string, Held>();
  readonly #pendingMs: number;
  // hold, release, sync and close run one at a time: each looks at the
  // sockets and changes them across awaits (a close must finish before a
  // bind of the same port).
  #queue: Promise<unknown> = Promise.resolve();

  constructor(settings: HeldPortsSettings) {
    this.#settings = settings;
    this.#pendingMs = settings.pendingMs ?? 120_000;
  }

  /** How many ports are held. */
  get size(): number {
    return this.#held.size;
  }

  /**
   * Binds every port of `leases` for `owner`, all or none: on a refusal,
   * what this call bound is let go and the refusals are returned (empty:
   * all bound). A port this companion already holds is taken over (its
   * lease in the records is gone or is this one); one of ours that
   * conflicts with a new port is closed first, for the same reason.
   */
  hold(owner: string, leases: readonly PortLease[]): Promise<PortRefusal[]> {
    return this.#serial(() => this.#hold(owner, leases));
  }

  async #hold(owner: string, leases: readonly PortLease[]): Promise<PortRefusal[]> {
    const now = Date.now();
    const bound: Held[] = [];
    const refused: PortRefusal[] = [];
    for (const port of ports(leases)) {
      const existing = this.#held.get(port.key);
      if (existing) {
        existing.owner = owner;
        existing.proxy = port.proxy;
        existing.pendingSince = now;
        continue;
      }
      for (const other of this.#held.values()) {
        if (other.protocol === port.protocol && other.hostPort === port.hostPort && overlapping(other.hostIp, port.hostIp)) {
          this.#held.delete(other.key);
          await other.close();
        }
      }
      try {
        const held = await this.#bind(port, owner, now);
        bound.push(held);
        this.#held.set(held.key, held);
      } catch (error) {
        refused.push(refusal(port, error, await holderOf(port.protocol, port.hostPort)));
        // One refusal is enough to say no; the rest of the range is not tried.
        break;
      }
    }
    if (refused.length > 0) {
      for (const held of bound) {
        this.#held.delete(held.key);
        await held.close();
      }
    }
    return refused;
  }

  /**
   * Lets go of every port of `owner`: its transaction did not commit, or its
   * leases were released (the allocator asks only then).
   */
  release(owner: string): Promise<void> {
    return this.#serial(() => this.#release(owner));
  }

  async #release(owner: string): Promise<void> {
    for (const held of [...this.#held.values()]) {
      if (held.owner === owner) {
        this.#held.delete(held.key);
        await held.close();
      }
    }
  }

  /**
   * Makes the held ports those of `leases` (the records): binds what is
   * missing (a companion started anew), closes what no lease has unless
   * `hold` bound it a moment ago (its transaction may not have committed
   * yet). Resolves to the ports it could not bind.
   */
  sync(leases: readonly PortLease[]): Promise<PortRefusal[]> {
    return this.#serial(() => this.#sync(leases));
  }

  async #sync(leases: readonly PortLease[]): Promise<PortRefusal[]> {
    const wanted = new Map(ports(leases).map((p) => [p.key, p] as const));
    const now = Date.now();
    for (const held of [...this.#held.values()]) {
      const lease = wanted.get(held.key);
      if (lease && lease.owner === held.owner) {
        held.pendingSince = undefined;
        held.proxy = lease.proxy;
      } else if (held.pendingSince === undefined || now - held.pendingSince > this.#pendingMs) {
        this.#held.delete(held.key);
        await held.close();
      }
    }
    const refused: PortRefusal[] = [];
    for (const port of wanted.values()) {
      if (this.#held.has(port.key)) continue;
      try {
        const held = await this.#bind(port, port.owner, undefined);
        this.#held.set(held.key, held);
      } catch (error) {
        refused.push(refusal(port, error, undefined));
        this.#settings.log(`cannot hold ${port.key} for ${port.owner}: ${reason(error)}`);
      }
    }
    return refused;
  }

  /** Closes every socket. */
  close(): Promise<void> {
    return this.#serial(async () => {
      const all = [...this.#held.values()];
      this.#held.clear();
      await Promise.all(all.map((held) => held.close()));
    });
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #bind(port: PortKey, owner: string, pendingSince: number | undefined): Promise<Held> {
    const base = { key: port.key, protocol: port.protocol, hostIp: port.hostIp, hostPort: port.hostPort };
    if (port.protocol === 'tcp') {
      const held: Held = { ...base, owner, proxy: port.proxy, pendingSince, close: async () => undefined };
      const server = createServer({ allowHalfOpen: true }, (client) => this.#proxyTcp(held, client));
      await listen(server, port.hostIp ?? WILDCARD, port.hostPort);
      server.on('error', (error) => this.#settings.log(`${port.key}: ${reason(error)}`));
      held.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
      return held;
    }
    const socket = createSocket({ type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: port.hostIp ?? WILDCARD, port: port.hostPort, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const clients = new Map<string, { upstream: UdpSocket; timer: NodeJS.Timeout }>();
    const held: Held = {
      ...base,
      owner,
      proxy: port.proxy,
      pendingSince,
      close: async () => {
        for (const client of clients.values()) {
          clearTimeout(client.timer);
          client.upstream.close();
        }
        clients.clear();
        await new Promise<void>((resolve) => socket.close(() => resolve()));
      },
    };
    socket.on('error', (error) => this.#settings.log(`${port.key}: ${reason(error)}`));
    socket.on('message', (message, from) => this.#proxyUdp(held, socket, clients, message, from.address, from.port));
    return held;
  }

  #proxyTcp(held: Held, client: Socket): void {
    const target = held.proxy ? this.#settings.targetOf(held.owner, 'tcp', held.hostIp, held.hostPort) : undefined;
    // Nothing to splice to (no proxy, or the records do not say where yet):
    // a reset, so the client sees that nothing serves the port here.
    if (!target) {
      client.resetAndDestroy();
      return;
    }
    // Half-open on both sides: a client that ends its sending still gets
    // the answer, as it would from the container directly (pipe passes the
    // end on); an error on either side, or either side gone, ends both.
    const upstream = connect({ host: target.address, port: target.port, allowHalfOpen: true });
    client.on('error', () => upstream.destroy());
    // A container that refuses (its server not listening yet) or is gone:
    // the client is reset, as a direct connection would be, not ended as
    // if it had answered nothing.
    upstream.on('error', () => client.resetAndDestroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  #proxyUdp(
    held: Held,
    socket: UdpSocket,
    clients: Map<string, { upstream: UdpSocket; timer: NodeJS.Timeout }>,
    message: Buffer,
    address: string,
    port: number,
  ): void {
    const target = held.proxy ? this.#settings.targetOf(held.owner, 'udp', held.hostIp, held.hostPort) : undefined;
    if (!target) return;
    const id = `${address}:${port}`;
    const idleMs = this.#settings.udpIdleMs ?? 60_000;
    let client = clients.get(id);
    if (!client) {
      const upstream = createSocket({ type: 'udp4' });
      const entry = {
        upstream,
        timer: setTimeout(() => undefined, 0),
      };
      const forget = () => {
        clearTimeout(entry.timer);
        clients.delete(id);
        upstream.close();
      };
      upstream.on('error', forget);
      // Answers go back from the held socket, so the client sees the port it asked.
      upstream.on('message', (answer) => {
        entry.timer.refresh();
        socket.send(answer, port, address);
      });
      entry.timer = setTimeout(forget, idleMs).unref();
      clients.set(id, entry);
      client = entry;
    } else {
      client.timer.refresh();
    }
    client.upstream.send(message, target.port, target.address);
  }
}

interface PortKey {
  readonly key: string;
  readonly protocol: PortProtocol;
  readonly hostIp: string | undefined;
  readonly hostPort: number;
  readonly owner: string;
  readonly proxy: boolean;
}

/** Every single port of `leases`, a range spelled out. */
function ports(leases: readonly PortLease[]): PortKey[] {
  return leases.flatMap((lease) =>
    Array.from({ length: lease.count }, (_, i): PortKey => {
      const hostPort = lease.hostPort + i;
      return {
        key: `${lease.protocol}/${lease.hostIp ?? WILDCARD}:${hostPort}`,
        protocol: lease.protocol,
        hostIp: lease.hostIp,
        hostPort,
        owner: lease.owner,
        proxy: lease.proxy === true,
      };
    }),
  );
}

function overlapping(a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined || a === WILDCARD || b === WILDCARD || a === b;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function refusal(port: PortKey, error: unknown, holder: string | undefined): PortRefusal {
  return {
    protocol: port.protocol,
    ...(port.hostIp === undefined ? {} : { hostIp: port.hostIp }),
    hostPort: port.hostPort,
    error: reason(error),
    ...(holder === undefined ? {} : { holder }),
  };
}

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') return 'address in use';
  if (code === 'EADDRNOTAVAIL') return 'no such address on the host';
  if (code === 'EACCES') return 'permission denied';
  return error instanceof Error ? error.message : String(error);
}

/**
 * The process that has `protocol` port `port` in this namespace, as `ss`
 * shows it (`NAME (pid N)`), or undefined when it cannot say.
 */
function holderOf(protocol: PortProtocol, port: number): Promise<string | undefined> {
  const args = ['-H', '-n', '-p', protocol === 'tcp' ? '-lt' : '-ua', `sport = :${port}`];
  return new Promise((resolve) => {
    execFile('ss', args, { timeout: 2_000 }, (error, stdout) => {
      if (error) return resolve(undefined);
      const match = /users:\(\("([^"]+)",pid=(\d+)/.exec(stdout);
      resolve(match ? `${match[1]} (pid ${match[2]})` : undefined);
    });
  });
}
