import type { Cidr } from '../net/address.js';
import { lastAddress } from '../net/address.js';

/**
 * The addresses of `subnet` that are never leased: the network address, the
 * gateway, and for IPv4 the broadcast address. (IPv6 has no broadcast; its
 * last address is an ordinary one.)
 */
export function reservedAddresses(subnet: Cidr, gateway: bigint): Set<bigint> {
  const reserved = new Set([subnet.network, gateway]);
  if (subnet.family === 4) reserved.add(lastAddress(subnet));
  return reserved;
}

/**
 * Picks the next free address of `range`, round-robin: the search starts just
 * after `last` (the address handed out before, when it lies in `range`) and
 * wraps to the start of `range`, so an address just released is not handed
 * out again until the rest of the range has had its turn.
 *
 * `isUnavailable` says whether an address may not be picked (reserved or
 * leased); `unavailableCount` bounds how many addresses it says so of. Each
 * step past an unavailable address uses one of them up, so the search takes
 * at most `unavailableCount + 1` steps however large the range is: an IPv6
 * /64 is never enumerated.
 *
 * @returns the address, or `undefined` when every address of `range` is unavailable.
 */
export function pickAddress(
  range: Cidr,
  isUnavailable: (address: bigint) => boolean,
  unavailableCount: number,
  last: bigint | undefined,
): bigint | undefined {
  const first = range.network;
  const end = lastAddress(range);
  let candidate = last !== undefined && last >= first && last < end ? last + 1n : first;
  const limit = BigInt(unavailableCount) + 1n;
  const steps = range.size < limit ? range.size : limit;
  for (let i = 0n; i < steps; i += 1n) {
    if (!isUnavailable(candidate)) return candidate;
    candidate = candidate === end ? first : candidate + 1n;
  }
  return undefined;
}
