import { ErrorCode, NetModeError, invalidConfig } from '../errors.js';
import type { PortProtocol } from '../model/endpoint.js';
import Type, { type TSchema } from 'typebox';
import { checkRecord, type RecordKind } from '../store/record-schema.js';
import type { HostPortHolder, PortAllocator, PortLease, PortOperations, PortRequest, PortsAllocatedWith } from './types.js';
import type { StateStore, StateTransaction } from '../store/state-store.js';

/** Options of {@link StorePortAllocator}. */
export interface PortAllocatorOptions {
  /**
   * The ephemeral range `[first, last]` of the host (its
   * `net.ipv4.ip_local_port_range`); asked for only when a request has no host port.
   */
  readonly ephemeralRange: () => Promise<readonly [number, number]>;
  /**
   * What keeps the leased ports bound in the host namespace (the companion,
   * by default). Absent: leases are bookkeeping only, and a request with
   * `proxy` is refused.
   */
  readonly holder?: HostPortHolder;
  /**
   * Without a holder: mark the leases {@link PortLease.unheld}, so a
   * companion that serves the same state directory (for DNS) leaves them
   * alone (`createNetMode({ holdHostPorts: false })`).
   */
  readonly markUnheld?: boolean;
}

// An ephemeral port that a host process has is skipped and another tried;
// after this many, the request fails with that process named.
const EPHEMERAL_TRIES = 8;

interface PortsRecord {
  readonly leases: PortLease[];
  /** The last ephemeral port handed out, so the next search starts after it. */
  readonly lastEphemeral?: number;
}

const recordKey = (protocol: PortProtocol) => `ports/${protocol}`;

/**
 * The default {@link PortAllocator}: host port leases kept in the state
 * store under `ports/`, so every process sharing the store sees the same
 * leases.
 */
export class StorePortAllocator implements PortAllocator {
  readonly #store: StateStore;
  readonly #ephemeralRange: () => Promise<readonly [number, number]>;
  readonly #holder: HostPortHolder | undefined;
  readonly #unheld: boolean;

  constructor(store: StateStore, options: PortAllocatorOptions) {
    this.#store = store;
    this.#ephemeralRange = options.ephemeralRange;
    this.#holder = options.holder;
    this.#unheld = options.holder === undefined && options.markUnheld === true;
  }

  /**
   * Leases every requested range for `owner`, all or none, resolving
   * ephemeral ports, and returns the leases in request order.
   *
   * @throws ERR_PORT_ALLOCATED naming the holder of a conflicting port;
   * ERR_INVALID_CONFIG for a malformed request; ERR_ADDRESS_EXHAUSTED when no
   * ephemeral range of that size is free.
   */
  async allocate(owner: string, requests: readonly PortRequest[]): Promise<PortLease[]> {
    if (requests.length === 0) return [];
    return (await this.allocateWith(owner, requests, async () => undefined)).leases;
  }

  /**
   * {@link allocate} and `also` in one state transaction: the port leases and
   * whatever `also` changes (an IPAM address lease through `ipam.within(tx)`,
   * say) commit together or not at all. `also` runs after the ports are
   * leased, so a port conflict leaves it unrun. One transaction instead of
   * two saves an fsync'ed commit and a lock round trip per endpoint.
   *
   * With a holder, the leased ports are bound before the transaction
   * commits: a port that a process of the host has fails the whole request
   * (an ephemeral one is skipped for the next, up to 8 times), and a
   * transaction that does not commit lets its sockets go.
   *
   * @throws the errors of {@link allocate}, ERR_PORT_HOLDER, and whatever `also` throws.
   */
  async allocateWith<T>(
    owner: string,
    requests: readonly PortRequest[],
    also: (tx: StateTransaction) => Promise<T>,
  ): Promise<PortsAllocatedWith<T>> {
    const range = requests.some((r) => !r.hostPort) ? await this.#ephemeralRange() : undefined;
    const holder = requests.length > 0 ? this.#holder : undefined;
    if (!holder && requests.some((r) => r.proxy === true)) {
      throw invalidConfig(
        'userlandProxy',
        'the userland proxy runs in the port holder, and this instance holds no ports (holdHostPorts: false, or no state directory)',
      );
    }
    if (!holder) {
      return this.#store.transaction(async (tx) => {
        const leases = requests.length === 0 ? [] : await allocateWithin(tx, owner, requests, range, { unheld: this.#unheld });
        return { leases, result: await also(tx) };
      });
    }
    await holder.prepare();
    const avoid = new Set<string>();
    let holderRestarted = false;
    for (let attempt = 1; ; attempt += 1) {
      let retry: string[] = [];
      try {
        return await this.#store.transaction(async (tx) => {
          const leases = await allocateWithin(tx, owner, requests, range, { avoid });
          const result = await also(tx);
          try {
            await holder.hold(owner, leases);
          } catch (error) {
            retry = ephemeralBusy(error, requests, leases);
            throw error;
          }
          return { leases, result };
        });
      } catch (error) {
        await holder.release(owner);
        // The holder went between prepare() and the transaction (it had
        // found itself idle and took the lock first): start it again, once.
        if (!holderRestarted && error instanceof NetModeError && error.code === ErrorCode.PORT_HOLDER) {
          holderRestarted = true;
          await holder.prepare();
          continue;
        }
        if (retry.length === 0 || attempt >= EPHEMERAL_TRIES) throw error;
        for (const port of retry) avoid.add(port);
      }
    }
  }

  /**
   * Releases every lease of `owner` and, once that is committed, tells the
   * holder to let the ports go; resolves to how many leases.
   */
  async releaseOwner(owner: string): Promise<number> {
    const released = await this.#store.transaction((tx) => releaseOwnerWithin(tx, owner));
    if (released > 0) await this.#holder?.release(owner);
    return released;
  }

  /** The operations on a transaction the caller opened (see {@link PortOperations}). */
  within(tx: StateTransaction): PortOperations {
    return {
      allocate: (owner, requests, range) => allocateWithin(tx, owner, requests, range),
      releaseOwner: (owner) => releaseOwnerWithin(tx, owner),
      list: () => listWithin(tx),
    };
  }

  /** Every lease, TCP first. @throws ERR_STATE_CORRUPT when a port record cannot be read. */
  async list(): Promise<PortLease[]> {
    return listWithin(this.#store);
  }
}

const Lease = Type.Object({
  protocol: Type.Enum(['tcp', 'udp']),
  hostIp: Type.Optional(Type.String()),
  hostPort: Type.Integer({ minimum: 1, maximum: 65535 }),
  count: Type.Integer({ minimum: 1, maximum: 65535 }),
  owner: Type.String({ minLength: 1 }),
  proxy: Type.Optional(Type.Boolean()),
  unheld: Type.Optional(Type.Boolean()),
});

/**
 * The busy ports of the holder's ERR_PORT_ALLOCATED (`protocol/port`
 * each) when every one of them lies in a lease of an ephemeral request:
 * another pick may avoid them. Empty for any other error, or when a port
 * the caller named is busy (no other pick helps).
 */
function ephemeralBusy(error: unknown, requests: readonly PortRequest[], leases: readonly PortLease[]): string[] {
  if (!(error instanceof NetModeError) || error.code !== ErrorCode.PORT_ALLOCATED) return [];
  const busy = (error.context as { busy?: { protocol: PortProtocol; hostPort: number }[] } | undefined)?.busy ?? [];
  const ephemeral = leases.filter((_, i) => !requests[i]?.hostPort);
  const inEphemeral = (b: { protocol: PortProtocol; hostPort: number }) =>
    ephemeral.some((l) => l.protocol === b.protocol && b.hostPort >= l.hostPort && b.hostPort < l.hostPort + l.count);
  return busy.length > 0 && busy.every(inEphemeral) ? busy.map((b) => `${b.protocol}/${b.hostPort}`) : [];
}

const PORTS_RECORD: RecordKind<TSchema> = {
  what: 'port lease record',
  schema: Type.Object({ leases: Type.Array(Lease), lastEphemeral: Type.Optional(Type.Integer()) }),
};

type Reader = Pick<StateTransaction, 'get' | 'locate'>;

/** The port record of `protocol`, checked. @throws ERR_STATE_CORRUPT */
async function readPorts(reader: Reader, protocol: PortProtocol): Promise<PortsRecord | undefined> {
  const key = recordKey(protocol);
  const value = await reader.get<unknown>(key);
  return value === undefined ? undefined : (checkRecord(PORTS_RECORD, key, value, reader) as PortsRecord);
}

/** Every lease, TCP first, read in an open transaction (or from the store). @throws ERR_STATE_CORRUPT */
export async function listWithin(reader: Reader): Promise<PortLease[]> {
  const records = [await readPorts(reader, 'tcp'), await readPorts(reader, 'udp')];
  return records.flatMap((r) => r?.leases ?? []);
}

/** How {@link allocateWithin} picks and marks leases. */
export interface AllocateHow {
  /** Ports (`protocol/port`) an ephemeral pick skips: a process of the host has them. */
  readonly avoid?: ReadonlySet<string>;
  /** Mark the leases {@link PortLease.unheld}: no holder binds them. */
  readonly unheld?: boolean;
}

/** {@link PortAllocator.allocate} inside an open transaction; `range` must be given when a request is ephemeral. */
export async function allocateWithin(
  tx: StateTransaction,
  owner: string,
  requests: readonly PortRequest[],
  range: readonly [number, number] | undefined,
  how: AllocateHow = {},
): Promise<PortLease[]> {
  const avoid = how.avoid ?? new Set<string>();
  const records = new Map<PortProtocol, PortsRecord>();
  const load = async (protocol: PortProtocol) => {
    let record = records.get(protocol);
    if (!record) {
      record = (await readPorts(tx, protocol)) ?? { leases: [] };
      records.set(protocol, record);
    }
    return record;
  };
  const granted: PortLease[] = [];
  for (const [index, request] of requests.entries()) {
    validateRequest(request);
    const record = await load(request.protocol);
    const taken = [...record.leases, ...granted.filter((g) => g.protocol === request.protocol)];
    let hostPort = request.hostPort ?? 0;
    let lastEphemeral = record.lastEphemeral;
    if (hostPort === 0) {
      if (!range) throw invalidConfig('ports', 'an ephemeral port was requested without an ephemeral range');
      hostPort = pickEphemeral(request, taken, range, lastEphemeral, avoid);
      lastEphemeral = hostPort + request.count - 1;
    } else {
      const twice = granted.findIndex((lease) => lease.protocol === request.protocol && conflicts(lease, { ...request, hostPort }));
      if (twice >= 0) {
        throw new NetModeError(
          ErrorCode.PORT_ALLOCATED,
          `host port ${hostPort}/${request.protocol} is asked for twice in one request (ports[${twice}] and ports[${index}])`,
          { context: { protocol: request.protocol, hostPort, hostIp: request.hostIp, holder: owner } },
        );
      }
      const conflict = taken.find((lease) => conflicts(lease, { ...request, hostPort }));
      if (conflict) {
        const where = request.hostIp ?? 'every address';
        throw new NetModeError(
          ErrorCode.PORT_ALLOCATED,
          `host port ${hostPort}${request.count > 1 ? `-${hostPort + request.count - 1}` : ''}/${request.protocol} on ${where} is already published by ${conflict.owner}`,
          { context: { protocol: request.protocol, hostPort, hostIp: request.hostIp, holder: conflict.owner } },
        );
      }
    }
    const lease: PortLease = {
      protocol: request.protocol,
      ...(request.hostIp === undefined ? {} : { hostIp: request.hostIp }),
      hostPort,
      count: request.count,
      owner,
      ...(request.proxy === true ? { proxy: true } : {}),
      ...(how.unheld === true ? { unheld: true } : {}),
    };
    granted.push(lease);
    records.set(request.protocol, { leases: [...record.leases, lease], lastEphemeral });
  }
  for (const [protocol, record] of records) tx.put(recordKey(protocol), record);
  return granted;
}

/** {@link PortAllocator.releaseOwner} inside an open transaction. */
export async function releaseOwnerWithin(tx: StateTransaction, owner: string): Promise<number> {
  let released = 0;
  for (const protocol of ['tcp', 'udp'] as const) {
    const record = await readPorts(tx, protocol);
    if (!record) continue;
    const leases = record.leases.filter((lease) => lease.owner !== owner);
    if (leases.length === record.leases.length) continue;
    released += record.leases.length - leases.length;
    tx.put(recordKey(protocol), { ...record, leases });
  }
  return released;
}

function validateRequest(request: PortRequest): void {
  const hostPort = request.hostPort ?? 0;
  if (!Number.isInteger(request.count) || request.count < 1) throw invalidConfig('ports.count', 'must be at least 1');
  if (!Number.isInteger(hostPort) || hostPort < 0 || hostPort + request.count - 1 > 65535) {
    throw invalidConfig('ports.hostPort', `${hostPort} (range of ${request.count}) must lie within 1-65535`);
  }
}

function overlaps(a: { hostPort: number; count: number }, b: { hostPort: number; count: number }): boolean {
  return a.hostPort < b.hostPort + b.count && b.hostPort < a.hostPort + a.count;
}

function conflicts(lease: PortLease, request: PortRequest & { hostPort: number }): boolean {
  if (lease.protocol !== request.protocol || !overlaps(lease, request)) return false;
  return lease.hostIp === undefined || request.hostIp === undefined || lease.hostIp === request.hostIp;
}

function pickEphemeral(
  request: PortRequest,
  taken: readonly PortLease[],
  [first, last]: readonly [number, number],
  lastEphemeral: number | undefined,
  avoid: ReadonlySet<string>,
): number {
  const span = last - first + 1;
  if (request.count > span) {
    throw new NetModeError(ErrorCode.ADDRESS_EXHAUSTED, `no ${request.count} consecutive ephemeral ports fit in ${first}-${last}`);
  }
  // Round-robin from after the last ephemeral port, like IPAM, so a port just
  // released is not handed to the next container at once.
  const start = lastEphemeral !== undefined && lastEphemeral >= first && lastEphemeral < last ? lastEphemeral + 1 : first;
  for (let step = 0; step < span; step += 1) {
    const candidate = first + ((start - first + step) % span);
    if (candidate + request.count - 1 > last) continue;
    const probe = { ...request, hostPort: candidate };
    const busy = Array.from({ length: request.count }, (_, i) => `${request.protocol}/${candidate + i}`).some((p) => avoid.has(p));
    if (!busy && !taken.some((lease) => conflicts(lease, probe))) return candidate;
  }
  throw new NetModeError(
    ErrorCode.ADDRESS_EXHAUSTED,
    `no ${request.count} free consecutive ephemeral ${request.protocol} ports left in ${first}-${last}`,
    { context: { protocol: request.protocol } },
  );
}
