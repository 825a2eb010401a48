import { invalidConfig } from '../errors.js';
import type { Cidr, IpFamily } from '../net/address.js';
import { ADDRESS_BITS, cidrsOverlap, lastAddress, parseNetwork, toCidr } from '../net/address.js';

/**
 * A range that IPAM cuts subnets from, as Docker's `default-address-pools`:
 * `base` is a network CIDR and `size` the prefix length of each subnet.
 */
export interface AddressPool {
  /** The network CIDR to cut subnets from, such as `172.17.0.0/16`. */
  readonly base: string;
  /** The prefix length of each subnet cut from `base`, such as 16 or 20. */
  readonly size: number;
}

/**
 * Docker's default pools, in Docker's order: 172.17.0.0/16 through
 * 172.31.0.0/16 as one /16 each, then 192.168.0.0/16 in /20s. There is no
 * default IPv6 pool, as in Docker: an IPv6 network names its subnet, or the
 * caller passes an IPv6 pool.
 */
export const DEFAULT_ADDRESS_POOLS: readonly AddressPool[] = Object.freeze([
  ...Array.from({ length: 15 }, (_, i) => Object.freeze({ base: `172.${17 + i}.0.0/16`, size: 16 })),
  Object.freeze({ base: '192.168.0.0/16', size: 20 }),
]);

/**
 * The longest prefix length a subnet may have: it must hold a network
 * address, a gateway and at least one container (plus a broadcast address for
 * IPv4).
 */
export const MAX_SUBNET_PREFIX: Readonly<Record<IpFamily, number>> = { 4: 30, 6: 126 };

/** A validated {@link AddressPool}. */
export interface ResolvedPool {
  /** The parsed base network. */
  readonly base: Cidr;
  /** The prefix length of each subnet cut from it. */
  readonly size: number;
}

/**
 * Parses and checks `pools`, so a bad pool is reported when IPAM is built, not
 * when the first network is created.
 *
 * @throws NetModeError ERR_INVALID_CONFIG naming the pool at fault.
 */
export function resolvePools(pools: readonly AddressPool[]): ResolvedPool[] {
  return pools.map((pool, i) => {
    const base = parseNetwork(pool.base, `pools[${i}].base`);
    const max = MAX_SUBNET_PREFIX[base.family];
    if (!Number.isInteger(pool.size) || pool.size < base.prefixLength || pool.size > max) {
      throw invalidConfig(
        `pools[${i}].size`,
        `${String(pool.size)} is not a usable subnet size for ${pool.base}; use a prefix length from ${base.prefixLength} to ${max}`,
      );
    }
    return { base, size: pool.size };
  });
}

/**
 * The first subnet, in pool order and ascending within each pool, of the given
 * family that overlaps none of `taken`; `undefined` when there is none.
 *
 * Never enumerates a pool: on a collision it jumps past the colliding network,
 * so the work is bounded by the number of pools and of `taken` networks, even
 * for an IPv6 pool with 2^56 candidates.
 */
export function findFreeSubnet(pools: readonly ResolvedPool[], family: IpFamily, taken: readonly Cidr[]): Cidr | undefined {
  for (const pool of pools) {
    if (pool.base.family !== family) continue;
    const step = 1n << BigInt(ADDRESS_BITS[family] - pool.size);
    const end = lastAddress(pool.base);
    let cursor = pool.base.network;
    while (cursor + step - 1n <= end) {
      const candidate = toCidr(family, cursor, pool.size);
      const blocker = taken.find((cidr) => cidrsOverlap(cidr, candidate));
      if (blocker === undefined) return candidate;
      // The next candidate that can be free starts at the first step
      // boundary after the blocker's last address.
      const after = lastAddress(blocker) + 1n;
      cursor = ((after + step - 1n) / step) * step;
    }
  }
  return undefined;
}
