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
