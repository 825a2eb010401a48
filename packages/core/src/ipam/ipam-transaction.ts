import { ErrorCode, NetModeError, invalidConfig } from '../errors.js';
import type { SubnetConfig } from '../model/network.js';
import type { Cidr, IpAddress } from '../net/address.js';
import { bigIntToAddress, cidrContains, formatCidr, lastAddress, parseAddress, parseNetwork } from '../net/address.js';
import type { StateTransaction } from '../store/state-store.js';
import { pickAddress, reservedAddresses } from './address-picker.js';
import type { ResolvedPool } from './pools.js';
import { findFreeSubnet } from './pools.js';
import type { LoadedSubnet, SubnetRecord } from './records.js';
import { parseLeases, readSubnet, readSubnets, subnetKey, writeSubnet } from './records.js';
import type { TakenNetwork } from './subnet-request.js';
import { assertNoOverlap, parseHostRoutes, parseRequestedSubnet, planSubnet, requestedFamily } from './subnet-request.js';
import type { AddressLease, AddressRequest, IpamOperations, ReservedSubnet, SubnetLease, SubnetRequest } from './types.js';

/**
 * IPAM's operations on a state transaction that the caller has opened, so
 * they commit atomically with the caller's own records (a network record with
 * its subnet, an endpoint record with its address). Get one from
 * `Ipam.within(tx)`; it is valid only while `tx` is open.
 *
 * Nothing here runs commands: {@link IpamTransaction.allocateSubnet} takes the
 * host's routes as an argument, fetched with `Ipam.hostRoutes()` before the
 * transaction was opened, so the state lock is never held across a process
 * spawn.
 */
export class IpamTransaction implements IpamOperations {
  readonly #tx: StateTransaction;
  readonly #pools: readonly ResolvedPool[];

  /**
   * Use `Ipam.within(tx)` rather than this constructor.
   *
   * @internal
   */
  constructor(tx: StateTransaction, pools: readonly ResolvedPool[]) {
    this.#tx = tx;
    this.#pools = pools;
  }

  /**
   * Allocates a subnet to `owner`: the requested one, or the first free one
   * from the pools.
   *
   * @param hostRoutes - the CIDRs routed in the host namespace (default routes are ignored).
   * @param reserved - subnets kept free for others without a lease (a predefined network's before its first use).
   * @throws NetModeError ERR_INVALID_CONFIG on a malformed request,
   * ERR_SUBNET_OVERLAP when the requested subnet overlaps an allocated subnet or
   * a host route, ERR_ADDRESS_EXHAUSTED when no pool subnet is free.
   */
  async allocateSubnet(
    owner: string,
    request: SubnetRequest,
    hostRoutes: readonly string[],
    reserved: readonly ReservedSubnet[] = [],
  ): Promise<SubnetConfig> {
    assertOwner(owner);
    const requested = request.subnet === undefined ? undefined : parseRequestedSubnet(request.subnet);
    const family = requestedFamily(request, requested);
    const taken: TakenNetwork[] = [
      ...(await readSubnets(this.#tx)).map((s) => ({
        cidr: s.cidr,
        description: `subnet ${s.record.subnet} of ${s.record.owner}`,
      })),
      ...parseHostRoutes(hostRoutes),
      ...reserved.map((r) => ({ cidr: parseNetwork(r.subnet, 'reserved subnet'), description: r.description })),
    ];
    let subnet: Cidr;
    if (requested === undefined) {
      if (!this.#pools.some((pool) => pool.base.family === family)) {
        throw invalidConfig('subnet', `there is no IPv${family} address pool; an IPv${family} network needs an explicit subnet`);
      }
      const free = findFreeSubnet(
        this.#pools,
        family,
        taken.map((t) => t.cidr),
      );
      if (free === undefined) {
        throw new NetModeError(
          ErrorCode.ADDRESS_EXHAUSTED,
          `no free subnet in the address pools for IPv${family}: every candidate overlaps an allocated subnet or a host route`,
          { context: { family, pools: this.#pools.map((p) => `${formatCidr(p.base)} in /${p.size}`) } },
        );
      }
      subnet = free;
    } else {
      assertNoOverlap(requested, taken);
      subnet = requested;
    }
    const plan = planSubnet(subnet, request);
    const record: SubnetRecord = {
      subnet: formatCidr(plan.subnet),
      gateway: plan.gateway.text,
      ...(plan.ipRange === undefined ? {} : { ipRange: formatCidr(plan.ipRange) }),
      owner,
      leases: {},
    };
    writeSubnet(this.#tx, plan.subnet, record);
    const { owner: _owner, leases: _leases, ...config } = record;
    return config;
  }

  /** Releases `subnet` with all its address leases; releasing a subnet that is not allocated does nothing. */
  async releaseSubnet(subnet: string): Promise<void> {
    this.#tx.delete(subnetKey(parseNetwork(subnet, 'subnet')));
  }

  /**
   * Leases an address of `subnet` to `owner`: the requested static one, or the
   * next free one of the subnet's ipRange (else the whole subnet), round-robin.
   *
   * @returns the address, canonical, without prefix length.
   * @throws NetModeError ERR_INVALID_CONFIG when `subnet` is not allocated or
   * the static address is outside it or reserved, ERR_ADDRESS_IN_USE when the
   * static address is leased, ERR_ADDRESS_EXHAUSTED when no address is free.
   */
  async allocateAddress(subnet: string, owner: string, request: AddressRequest = {}): Promise<string> {
    assertOwner(owner);
    const loaded = await this.#load(subnet);
    const { record, cidr } = loaded;
    if (request.address !== undefined) {
      const address = parseAddress(request.address, 'address');
      assertStaticAddress(loaded, address);
      const holder = record.leases[address.text];
      if (holder !== undefined) {
        throw new NetModeError(ErrorCode.ADDRESS_IN_USE, `address ${address.text} in ${record.subnet} is already leased to ${holder}`, {
          context: { subnet: record.subnet, address: address.text, owner: holder },
        });
      }
      // A static lease leaves the round-robin pointer alone, as Docker does.
      this.#save(loaded, { ...record, leases: { ...record.leases, [address.text]: owner } });
      return address.text;
    }

    const reserved = reservedAddresses(cidr, loaded.gateway.value);
    // Leases are keyed by canonical text (every write canonicalises), so a
    // candidate is formatted and looked up rather than every lease parsed:
    // that keeps an allocation cheap in a subnet with thousands of leases.
    const isUnavailable = (value: bigint) => reserved.has(value) || record.leases[bigIntToAddress(value, cidr.family)] !== undefined;
    const count = reserved.size + Object.keys(record.leases).length;
    const picked = pickAddress(loaded.range, isUnavailable, count, loaded.last);
    if (picked === undefined) {
      const where = record.ipRange === undefined ? record.subnet : `ipRange ${record.ipRange} of ${record.subnet}`;
      throw new NetModeError(ErrorCode.ADDRESS_EXHAUSTED, `no free address left in ${where}`, {
        context: { subnet: record.subnet, leases: Object.keys(record.leases).length },
      });
    }
    const text = bigIntToAddress(picked, cidr.family);
    this.#save(loaded, { ...record, lastAllocated: text, leases: { ...record.leases, [text]: owner } });
    return text;
  }

  /** Releases one address lease; releasing an address that is not leased, or in an unknown subnet, does nothing. */
  async releaseAddress(subnet: string, address: string): Promise<void> {
    const loaded = await readSubnet(this.#tx, parseNetwork(subnet, 'subnet'));
    const text = parseAddress(address, 'address').text;
    if (loaded === undefined || loaded.record.leases[text] === undefined) return;
    const { [text]: _released, ...leases } = loaded.record.leases;
    this.#save(loaded, { ...loaded.record, leases });
  }

  /** Releases every address lease held by `owner` in any subnet. @returns how many were released. */
  async releaseOwner(owner: string): Promise<number> {
    assertOwner(owner);
    let released = 0;
    for (const loaded of await readSubnets(this.#tx)) {
      const kept = Object.entries(loaded.record.leases).filter(([, holder]) => holder !== owner);
      const dropped = Object.keys(loaded.record.leases).length - kept.length;
      if (dropped === 0) continue;
      released += dropped;
      this.#save(loaded, { ...loaded.record, leases: Object.fromEntries(kept) });
    }
    return released;
  }

  /** Every allocated subnet, IPv4 before IPv6, each in address order. */
  async listSubnets(): Promise<SubnetLease[]> {
    const subnets = await readSubnets(this.#tx);
    subnets.sort((a, b) => a.cidr.family - b.cidr.family || compare(a.cidr.network, b.cidr.network));
    return subnets.map(({ record }) => ({
      subnet: record.subnet,
      gateway: record.gateway,
      ...(record.ipRange === undefined ? {} : { ipRange: record.ipRange }),
      owner: record.owner,
    }));
  }

  /**
   * Every address lease of `subnet`, in address order.
   *
   * @throws NetModeError ERR_INVALID_CONFIG when `subnet` is not allocated.
   */
  async listLeases(subnet: string): Promise<AddressLease[]> {
    return parseLeases(await this.#load(subnet))
      .sort((a, b) => compare(a.value, b.value))
      .map(({ address, owner }) => ({ address, owner }));
  }

  async #load(subnet: string): Promise<LoadedSubnet> {
    const cidr = parseNetwork(subnet, 'subnet');
    const loaded = await readSubnet(this.#tx, cidr);
    if (loaded === undefined) {
      throw invalidConfig('subnet', `${formatCidr(cidr)} is not allocated by IPAM; allocate it with allocateSubnet() first`);
    }
    return loaded;
  }

  #save(loaded: LoadedSubnet, record: SubnetRecord): void {
    writeSubnet(this.#tx, loaded.cidr, record);
  }
}

function assertStaticAddress(loaded: LoadedSubnet, address: IpAddress): void {
  const { cidr, record } = loaded;
  if (!cidrContains(cidr, address)) throw invalidConfig('address', `${address.text} is outside subnet ${record.subnet}`);
  let reserved: string | undefined;
  if (address.value === cidr.network) reserved = 'the network address';
  else if (address.value === loaded.gateway.value) reserved = 'the gateway';
  else if (cidr.family === 4 && address.value === lastAddress(cidr)) reserved = 'the broadcast address';
  if (reserved !== undefined) {
    throw invalidConfig('address', `${address.text} is ${reserved} of ${record.subnet} and cannot be leased`);
  }
}

function assertOwner(owner: string): void {
  // The owner is only stored and shown in messages, but a control character
  // would garble both.
  // eslint-disable-next-line no-control-regex -- matching control characters is what this pattern is for
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > 256 || /[\u0000-\u001f\u007f]/.test(owner)) {
    throw invalidConfig('owner', `${JSON.stringify(owner)} is not a valid owner; use 1 to 256 printable characters`);
  }
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
