import type { PortProtocol } from '../model/endpoint.js';
import type { StateTransaction } from '../store/state-store.js';

/** One port range a caller wants published. */
export interface PortRequest {
  /** `tcp` or `udp`. */
  readonly protocol: PortProtocol;
  /** The host address; absent means every address of the host. */
  readonly hostIp?: string;
  /** The first host port; 0 or absent asks for `count` consecutive ephemeral ports. */
  readonly hostPort?: number;
  /** How many consecutive ports. */
  readonly count: number;
  /**
   * Whether the userland proxy serves these ports (the bridge driver's
   * `userlandProxy`): the holder then forwards what reaches its sockets to
   * the container instead of only keeping the ports taken.
   */
  readonly proxy?: boolean;
}

/** A host port range held by one owner. */
export interface PortLease {
  /** `tcp` or `udp`. */
  readonly protocol: PortProtocol;
  /** The host address; absent means every address. */
  readonly hostIp?: string;
  /** The first host port. */
  readonly hostPort: number;
  /** How many consecutive ports. */
  readonly count: number;
  /** Who holds it (an endpoint owner id). */
  readonly owner: string;
  /** Whether the userland proxy serves it (see {@link PortRequest.proxy}). */
  readonly proxy?: boolean;
  /** Leased by an instance that holds no ports (`holdHostPorts: false`): the holder leaves it alone. */
  readonly unheld?: boolean;
}

/**
 * Keeps published host ports really taken in the host namespace: a socket
 * bound on each leased port (TCP and UDP, on the lease's host address), so
 * a host process can neither hold a port before it is published (the
 * publish is refused) nor take it afterwards. With a lease's
 * {@link PortLease.proxy}, the socket also forwards what reaches it to the
 * container (the userland proxy). The default holder is the companion
 * process (`createNetMode({ holdHostPorts })`); `StorePortAllocator` calls
 * it around its transactions, so a driver that leases ports through the
 * `PORTS` service gets the ports held without doing anything.
 */
export interface HostPortHolder {
  /**
   * Makes sure the holder runs, before a transaction that will call
   * {@link HostPortHolder.hold} (starting it may need the state lock).
   *
   * @throws ERR_PORT_HOLDER when it cannot be started.
   */
  prepare(): Promise<void>;
  /**
   * Binds every lease's ports for `owner`, all or none; called inside the
   * transaction that records the leases, before it commits. A socket the
   * holder has for a conflicting port of another owner is dropped first:
   * the leases in the state are the truth, and the allocator found no
   * conflict there.
   *
   * @throws ERR_PORT_ALLOCATED naming the process that has a port, when one
   * is in use (context `busy`: the ports that are); ERR_PORT_HOLDER when
   * the holder does not answer.
   */
  hold(owner: string, leases: readonly PortLease[]): Promise<void>;
  /**
   * Lets go of what {@link HostPortHolder.hold} bound for `owner` whose
   * transaction did not commit, or whose leases were released. Never throws.
   */
  release(owner: string): Promise<void>;
}

/** What `PortAllocator.allocateWith` resolves to. */
export interface PortsAllocatedWith<T> {
  /** The port leases, in request order. */
  readonly leases: PortLease[];
  /** What the work run in the same transaction returned. */
  readonly result: T;
}

/**
 * The port operations on a state transaction the caller opened, committed
 * with the caller's own records: what {@link PortAllocator.within} returns.
 * Valid only while the transaction is open; no method starts a process.
 */
export interface PortOperations {
  /**
   * Leases every requested range for `owner`, all or none. `range` (the
   * host's ephemeral range) is needed when a request has no host port.
   *
   * @throws ERR_PORT_ALLOCATED, ERR_INVALID_CONFIG, ERR_ADDRESS_EXHAUSTED
   */
  allocate(owner: string, requests: readonly PortRequest[], range?: readonly [number, number]): Promise<PortLease[]>;
  /** Releases every lease of `owner`; resolves to how many. Idempotent. */
  releaseOwner(owner: string): Promise<number>;
  /** Every lease, TCP first. */
  list(): Promise<PortLease[]>;
}

/**
 * Host port bookkeeping as drivers and the manager use it, registered under
 * the `PORTS` token (replace it in `createNetMode({ configure })`): which
 * host ports are published, on which addresses, by whom. Two mappings
 * conflict when they share a protocol and a port and either is published on
 * every address or both on the same one.
 */
export interface PortAllocator {
  /** The operations on a transaction the caller opened, to commit with its own records. */
  within(tx: StateTransaction): PortOperations;
  /**
   * Leases every requested range for `owner`, all or none, resolving
   * ephemeral ports, and returns the leases in request order.
   *
   * @throws ERR_PORT_ALLOCATED naming the holder of a conflicting port;
   * ERR_INVALID_CONFIG; ERR_ADDRESS_EXHAUSTED when no ephemeral range is free.
   */
  allocate(owner: string, requests: readonly PortRequest[]): Promise<PortLease[]>;
  /**
   * {@link PortAllocator.allocate} and `also` in one state transaction: the
   * leases and whatever `also` changes (an address through
   * `ipam.within(tx)`) commit together or not at all; `also` runs after the
   * ports are leased.
   */
  allocateWith<T>(
    owner: string,
    requests: readonly PortRequest[],
    also: (tx: StateTransaction) => Promise<T>,
  ): Promise<PortsAllocatedWith<T>>;
  /** Releases every lease of `owner`; resolves to how many. Idempotent. */
  releaseOwner(owner: string): Promise<number>;
  /** Every lease, TCP first. */
  list(): Promise<PortLease[]>;
}
