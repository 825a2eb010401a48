import { invalidConfig, parseNetwork, validateSubnetConfig, type NetworkRecord, type NetworkSpec, type SubnetConfig } from '@netmode/core';

/** Options of the ptp driver, given to `registerPtpDriver`. */
export interface PtpDriverOptions {
  /** The MTU of networks that do not name one in `options.mtu`. Default 1500. */
  readonly mtu?: number;
  /**
   * Whether the driver turns on `net.ipv4.ip_forward` in the host namespace,
   * as CNI's ptp plugin does. Default true. Endpoints of one network reach
   * each other only through the host's routing, so with false and forwarding
   * off they reach the host and nothing else.
   */
  readonly ipForward?: boolean;
}

/**
 * Options of one ptp network, given as
 * `createNetwork({ driver: 'ptp', subnets?: [{ subnet, gateway? }], options })`.
 */
export interface PtpNetworkOptions {
  /** The MTU of both ends of every veth pair. Default: the driver's `mtu`. */
  readonly mtu?: number;
}

/** The driver options with defaults filled in. */
export type ResolvedPtpOptions = Required<PtpDriverOptions>;

/** What a ptp network record's `options` hold once the driver has settled them. */
export interface PtpSettings {
  readonly mtu: number;
}

/** DI token of the resolved driver options; `Symbol.for`, so copies of this package agree on it. */
export const PTP_DRIVER_OPTIONS = Symbol.for('netmode-driver-ptp.options');

const KNOWN_NETWORK_OPTIONS = ['mtu'];

/** Fills in defaults and checks values; throws ERR_INVALID_CONFIG naming the option. */
export function resolvePtpOptions(options: PtpDriverOptions): ResolvedPtpOptions {
  const ipForward = options.ipForward ?? true;
  if (typeof ipForward !== 'boolean') throw invalidConfig('ipForward', `${JSON.stringify(ipForward)} must be true or false`);
  return { mtu: checkMtu(options.mtu ?? 1500, 'mtu'), ipForward };
}

/**
 * Checks a network specification; pure. The subnet is optional (IPAM picks
 * one from its pools); when given, it is one IPv4 subnet, and its gateway
 * (default: the first address) is the address every host-side veth end carries.
 */
export function validateNetworkSpec(spec: NetworkSpec, driver: ResolvedPtpOptions): void {
  const options = spec.options ?? {};
  for (const key of Object.keys(options)) {
    if (!KNOWN_NETWORK_OPTIONS.includes(key)) {
      throw invalidConfig(`options.${key}`, `is not a ptp network option (known: ${KNOWN_NETWORK_OPTIONS.join(', ')})`);
    }
  }
  settle(options, driver);
  if (spec.internal === true) {
    // Every endpoint's only way anywhere is the host's routing table: there
    // is no bridge to keep an internal network's traffic on.
    throw invalidConfig('internal', 'is not supported by the ptp driver: every packet of its endpoints is routed by the host');
  }
  const subnets = spec.subnets ?? [];
  if (subnets.length > 1) throw invalidConfig('subnets', 'a ptp network takes at most one subnet in this version');
  const subnet = subnets[0];
  if (subnet !== undefined) {
    validateSubnetConfig(subnet, 'subnets[0]');
    if (parseNetwork(subnet.subnet, 'subnets[0].subnet').family !== 4) {
      throw invalidConfig('subnets[0].subnet', 'the ptp driver supports IPv4 subnets only in this version');
    }
  }
}

/** The settled options of a network being created, for its record. */
export function settleNetworkOptions(network: NetworkRecord, driver: ResolvedPtpOptions): PtpSettings {
  return settle(network.options, driver);
}

/** Reads the settings back from a network record written by this driver. */
export function readSettings(network: NetworkRecord): PtpSettings {
  return { mtu: checkMtu(network.options['mtu'], 'network mtu') };
}

/** The network's subnet with its gateway, read back from its record. */
export function readSubnet(network: NetworkRecord): SubnetConfig & { readonly gateway: string } {
  const subnet = network.subnets[0];
  if (!subnet?.gateway) throw invalidConfig('subnets', `network ${network.name} has no subnet with a gateway`);
  return { ...subnet, gateway: subnet.gateway };
}

function settle(options: Readonly<Record<string, unknown>>, driver: ResolvedPtpOptions): PtpSettings {
  return { mtu: checkMtu(options['mtu'] ?? driver.mtu, 'options.mtu') };
}

function checkMtu(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 68 || value > 65535) {
    throw invalidConfig(field, `${JSON.stringify(value)} must be a whole number from 68 to 65535`);
  }
  return value;
}
