import type { IpFamily } from '../net/address.js';

/**
 * What a network asks IPAM for, in Docker's terms (`--subnet`, `--gateway`,
 * `--ip-range`). Every field is optional: with none, IPAM picks a free IPv4
 * subnet from its pools.
 */
export interface SubnetRequest {
  /** A network CIDR (host bits clear) to use instead of one from the pools. */
  readonly subnet?: string;
  /** The gateway address; defaults to the first address after the network address. Needs `subnet`. */
  readonly gateway?: string;
  /** A network CIDR inside `subnet` that dynamic addresses are taken from. Needs `subnet`. */
  readonly ipRange?: string;
  /** The family of the subnet to pick from the pools; 4 unless `subnet` says otherwise. */
  readonly family?: IpFamily;
  /**
   * The subnet is already routed by the bridge it belongs to (an existing
   * bridge, or one netmode made before its state was lost): host routes lying
   * within `subnet` (its connected route, its local and broadcast entries)
   * are then not overlaps. Other routes and networks still are.
   */
  readonly adoptRoute?: boolean;
}

/** What an endpoint asks IPAM for within a subnet. */
export interface AddressRequest {
  /** A static address (Docker's `--ip`), without prefix length; IPAM picks one when absent. */
  readonly address?: string;
}

/** An allocated subnet, as `Ipam.listSubnets()` reports it. */
export interface SubnetLease {
  /** The subnet, canonical CIDR. */
  readonly subnet: string;
  /** The gateway address, without prefix length. */
  readonly gateway: string;
  /** The CIDR dynamic addresses come from, when narrower than the subnet. */
  readonly ipRange?: string;
  /** Who holds the subnet (a network id). */
  readonly owner: string;
}

/** A leased address, as `Ipam.listLeases()` reports it. */
export interface AddressLease {
  /** The address, canonical, without prefix length. */
  readonly address: string;
  /** Who holds it (an endpoint or container id). */
  readonly owner: string;
}

/** A subnet kept free for its owner without a lease: see `IpamOptions.reserved`. */
export interface ReservedSubnet {
  /** The subnet, CIDR. */
  readonly subnet: string;
  /** Who it is kept for (`network:ID`). */
  readonly owner: string;
  /** What it is, for the message of a refused overlap: `subnet 172.17.0.0/16 of the predefined network bridge`. */
  readonly description: string;
}
