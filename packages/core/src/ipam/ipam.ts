import type { SubnetConfig } from '../model/network.js';
import { cidrContainsCidr, parseCidr, parseNetwork } from '../net/address.js';
import type { StateStore, StateTransaction } from '../store/state-store.js';
import { IpamTransaction } from './ipam-transaction.js';
import type { AddressPool, ResolvedPool } from './pools.js';
import { DEFAULT_ADDRESS_POOLS, resolvePools } from './pools.js';
import type { AddressLease, AddressRequest, Ipam, IpamOperations, ReservedSubnet, SubnetLease, SubnetRequest } from './types.js';

/** Options for {@link StoreIpam}. */
export interface IpamOptions {
  /** The pools subnets are cut from, in order of preference; defaults to {@link DEFAULT_ADDRESS_POOLS}. */
  readonly pools?: readonly AddressPool[];
  /**
   * Returns the CIDRs routed in the host namespace (wired to `ip -json route`
   * by the caller), so that no subnet shadows a network the host reaches.
   * Default routes are ignored. Without it, only allocated subnets are avoided.
   */
  readonly hostRoutes?: () => Promise<readonly string[]>;
  /**
   * Subnets that new networks may not take although IPAM holds no record of
   * them yet (a predefined network's, before its first use). A request by the
   * subnet's own `owner` is not refused by its own reservation.
   */
  readonly reserved?: readonly ReservedSubnet[];
}

/**
 * The default {@link Ipam}: subnets and addresses kept in the
 * {@link StateStore} under `ipam/subnets/`, so every process sharing the
 * store sees the same leases and two never hand out the same address.
 *
 * Each method is one store transaction. To combine IPAM changes with other
 * records in one atomic commit, use {@link StoreIpam.within} inside your
 * own transaction.
 */
export class StoreIpam implements Ipam {
  readonly #store: StateStore;
  readonly #pools: readonly ResolvedPool[];
  readonly #hostRoutes: (() => Promise<readonly string[]>) | undefined;
  readonly #options: IpamOptions;

  /** @throws NetModeError ERR_INVALID_CONFIG when a pool is malformed. */
  constructor(store: StateStore, options: IpamOptions = {}) {
    this.#store = store;
    this.#options = options;
    this.#pools = resolvePools(options.pools ?? DEFAULT_ADDRESS_POOLS);
    this.#hostRoutes = options.hostRoutes;
  }

  /** The same IPAM, keeping `reserved` free as well (see {@link IpamOptions.reserved}). */
  avoiding(reserved: readonly ReservedSubnet[]): Ipam {
    return new StoreIpam(this.#store, { ...this.#options, reserved: [...(this.#options.reserved ?? []), ...reserved] });
  }

  /**
   * The host's routes from the `hostRoutes` option (an empty list without it).
   * Call it before opening a transaction in which you will call
   * `within(tx).allocateSubnet()`: it may spawn a process, and the state lock
   * must not be held meanwhile.
   */
  async hostRoutes(): Promise<readonly string[]> {
    return this.#hostRoutes === undefined ? [] : this.#hostRoutes();
  }

  /**
   * IPAM's operations on a transaction you have opened, committed with your
   * own writes. Valid only while `tx` is open.
   *
   * @example
   * ```ts
   * const routes = await ipam.hostRoutes();
   * await store.transaction(async (tx) => {
   *   const subnet = await ipam.within(tx).allocateSubnet(networkId, {}, routes);
   *   tx.put(`networks/${networkId}`, { …, subnets: [subnet] });
   * });
   * ```
   */
  within(tx: StateTransaction): IpamOperations {
    return new IpamTransaction(tx, this.#pools);
  }

  /** See {@link IpamTransaction.allocateSubnet}; the host routes are fetched first, outside the transaction. */
  async allocateSubnet(owner: string, request: SubnetRequest = {}): Promise<SubnetConfig> {
    let routes = await this.hostRoutes();
    if (request.adoptRoute && request.subnet !== undefined) {
      // The bridge's connected route and its local and broadcast entries all
      // lie within its subnet.
      const own = parseNetwork(request.subnet);
      routes = routes.filter((route) => !cidrContainsCidr(own, parseCidr(route, 'host route')));
    }
    const reserved = (this.#options.reserved ?? []).filter((r) => r.owner !== owner);
    return this.#store.transaction((tx) => this.within(tx).allocateSubnet(owner, request, routes, reserved));
  }

  /** See {@link IpamTransaction.releaseSubnet}. */
  releaseSubnet(subnet: string): Promise<void> {
    return this.#store.transaction((tx) => this.within(tx).releaseSubnet(subnet));
  }

  /** See {@link IpamTransaction.allocateAddress}. */
  allocateAddress(subnet: string, owner: string, request: AddressRequest = {}): Promise<string> {
    return this.#store.transaction((tx) => this.within(tx).allocateAddress(subnet, owner, request));
  }

  /** See {@link IpamTransaction.releaseAddress}. */
  releaseAddress(subnet: string, address: string): Promise<void> {
    return this.#store.transaction((tx) => this.within(tx).releaseAddress(subnet, address));
  }

  /** See {@link IpamTransaction.releaseOwner}. */
  releaseOwner(owner: string): Promise<number> {
    return this.#store.transaction((tx) => this.within(tx).releaseOwner(owner));
  }

  /** See {@link IpamTransaction.listSubnets}. */
  listSubnets(): Promise<SubnetLease[]> {
    return this.#store.transaction((tx) => this.within(tx).listSubnets());
  }

  /** See {@link IpamTransaction.listLeases}. */
  listLeases(subnet: string): Promise<AddressLease[]> {
    return this.#store.transaction((tx) => this.within(tx).listLeases(subnet));
  }
}
