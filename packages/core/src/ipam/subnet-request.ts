import { ErrorCode, NetModeError, invalidConfig } from '../errors.js';
import type { Cidr, IpAddress, IpFamily } from '../net/address.js';
import {
  bigIntToAddress,
  cidrContains,
  cidrContainsCidr,
  cidrsOverlap,
  formatCidr,
  lastAddress,
  parseAddress,
  parseCidr,
  parseNetwork,
} from '../net/address.js';
import { MAX_SUBNET_PREFIX } from './pools.js';
import type { SubnetConfig } from '../model/network.js';
import type { SubnetRequest } from './types.js';

/** A network that a new subnet may not overlap, with words for the error message. */
export interface TakenNetwork {
  /** The network. */
  readonly cidr: Cidr;
  /** What it is, such as `host route 10.0.0.0/8` or `subnet 172.17.0.0/16 of network abc`. */
  readonly description: string;
}

/** The subnet, gateway and ipRange of a request, parsed and checked against each other. */
export interface SubnetPlan {
  /** The subnet. */
  readonly subnet: Cidr;
  /** The gateway: the requested one or the first address after the network address. */
  readonly gateway: IpAddress;
  /** The ipRange, when requested. */
  readonly ipRange?: Cidr;
}

/**
 * The family a request asks for: that of `subnet` when given, else
 * `family`, else 4.
 *
 * @throws NetModeError ERR_INVALID_CONFIG when `family` is not 4 or 6, or
 * contradicts `subnet`, or `gateway`/`ipRange` come without `subnet`.
 */
export function requestedFamily(request: SubnetRequest, subnet: Cidr | undefined): IpFamily {
  const { family } = request;
  if (family !== undefined && family !== 4 && family !== 6) {
    throw invalidConfig('family', `${JSON.stringify(family)} is not an address family; use 4 or 6`);
  }
  if (subnet === undefined) {
    // Docker refuses these too: a gateway or range only means something
    // relative to a subnet the caller chose.
    if (request.gateway !== undefined) throw invalidConfig('gateway', 'a gateway needs an explicit subnet');
    if (request.ipRange !== undefined) throw invalidConfig('ipRange', 'an ipRange needs an explicit subnet');
    return family ?? 4;
  }
  if (family !== undefined && family !== subnet.family) {
    throw invalidConfig('family', `IPv${family} was requested but subnet ${formatCidr(subnet)} is IPv${subnet.family}`);
  }
  return subnet.family;
}

/**
 * Parses the requested subnet.
 *
 * @throws NetModeError ERR_INVALID_CONFIG when it is not a network CIDR or is
 * too small to hold a gateway and a container.
 */
export function parseRequestedSubnet(text: string): Cidr {
  const subnet = parseNetwork(text, 'subnet');
  assertUsableSubnet(subnet, 'subnet');
  const max = MAX_SUBNET_PREFIX[subnet.family];
  if (subnet.prefixLength > max) {
    throw invalidConfig(
      'subnet',
      `${formatCidr(subnet)} is too small for a network; use a prefix length of at most ${max} for IPv${subnet.family}`,
    );
  }
  return subnet;
}

// Address blocks a network's bridge and containers cannot live in: the
// kernel would make a bridge with a zero, loopback, link-local or multicast
// local address, and packets from them are martians everywhere else.
const UNUSABLE: readonly (readonly [string, string])[] = [
  ['0.0.0.0/8', 'the "this network" block 0.0.0.0/8'],
  ['127.0.0.0/8', 'the loopback block 127.0.0.0/8'],
  ['169.254.0.0/16', 'the link-local block 169.254.0.0/16'],
  ['224.0.0.0/4', 'the multicast block 224.0.0.0/4'],
  ['240.0.0.0/4', 'the reserved block 240.0.0.0/4 (255.255.255.255 included)'],
  ['::/127', 'the unspecified and loopback addresses ::/127'],
  ['fe80::/10', 'the link-local block fe80::/10'],
  ['ff00::/8', 'the multicast block ff00::/8'],
];

/**
 * Throws ERR_INVALID_CONFIG when `subnet` overlaps a block no network can
 * use (0.0.0.0/8, loopback, link-local, multicast, 240.0.0.0/4 and their
 * IPv6 counterparts).
 */
export function assertUsableSubnet(subnet: Cidr, field: string): void {
  for (const [block, words] of UNUSABLE) {
    const cidr = parseNetwork(block);
    if (cidr.family === subnet.family && cidrsOverlap(cidr, subnet)) {
      throw invalidConfig(field, `${formatCidr(subnet)} overlaps ${words}, which no network can use`);
    }
  }
}

/**
 * Checks one subnet of a network specification on its own, touching
 * nothing: a usable network CIDR, a gateway inside it that is neither its
 * network nor its broadcast address, an ipRange inside it.
 *
 * @param field - where the subnet is, for messages: `subnets[0]`.
 * @throws NetModeError ERR_INVALID_CONFIG naming the field (`subnets[0].gateway`).
 */
export function validateSubnetConfig(config: SubnetConfig, field = 'subnet'): void {
  if (config === null || typeof config !== 'object' || typeof config.subnet !== 'string') {
    throw invalidConfig(field, 'must be an object with a subnet CIDR');
  }
  const request: SubnetRequest = {
    ...(config.gateway === undefined ? {} : { gateway: config.gateway }),
    ...(config.ipRange === undefined ? {} : { ipRange: config.ipRange }),
  };
  try {
    planSubnet(parseRequestedSubnet(config.subnet), request);
  } catch (error) {
    if (!(error instanceof NetModeError) || error.code !== ErrorCode.INVALID_CONFIG) throw error;
    // Name the field where the caller has it: subnets[0].gateway, not gateway.
    const inner = String(error.context['field'] ?? 'subnet');
    const message = error.message.startsWith(`${inner}: `) ? error.message.slice(inner.length + 2) : error.message;
    throw invalidConfig(`${field}.${inner}`, message);
  }
}

/**
 * Checks the gateway and ipRange of `request` against `subnet` and fills in
 * the default gateway.
 *
 * @throws NetModeError ERR_INVALID_CONFIG when the gateway is outside the
 * subnet or is its network or broadcast address, or the ipRange is not inside it.
 */
export function planSubnet(subnet: Cidr, request: SubnetRequest): SubnetPlan {
  const shown = formatCidr(subnet);
  let gateway: IpAddress;
  if (request.gateway === undefined) {
    gateway = parseAddress(bigIntToAddress(subnet.network + 1n, subnet.family));
  } else {
    gateway = parseAddress(request.gateway, 'gateway');
    if (!cidrContains(subnet, gateway)) throw invalidConfig('gateway', `${gateway.text} is outside subnet ${shown}`);
    if (gateway.value === subnet.network) {
      throw invalidConfig('gateway', `${gateway.text} is the network address of ${shown}; use an address inside it`);
    }
    if (subnet.family === 4 && gateway.value === lastAddress(subnet)) {
      throw invalidConfig('gateway', `${gateway.text} is the broadcast address of ${shown}; use an address inside it`);
    }
  }
  if (request.ipRange === undefined) return { subnet, gateway };
  const ipRange = parseNetwork(request.ipRange, 'ipRange');
  if (!cidrContainsCidr(subnet, ipRange)) {
    throw invalidConfig('ipRange', `${formatCidr(ipRange)} is not inside subnet ${shown}`);
  }
  return { subnet, gateway, ipRange };
}

/**
 * Parses the host's routes into networks a subnet may not overlap. Default
 * routes (`/0`, or the word `default` as `ip route` prints it) are skipped:
 * they cover everything and say nothing about which networks are in use.
 * A route without prefix length is a host route (/32 or /128).
 *
 * @throws NetModeError ERR_INVALID_CONFIG on a route that is not an address or CIDR.
 */
export function parseHostRoutes(routes: readonly string[]): TakenNetwork[] {
  const taken: TakenNetwork[] = [];
  for (const route of routes) {
    if (route === 'default') continue;
    const hostPrefix = route.includes(':') ? 128 : 32;
    const cidr = parseCidr(route.includes('/') ? route : `${route}/${hostPrefix}`, 'host route');
    if (cidr.prefixLength === 0) continue;
    taken.push({ cidr, description: `host route ${formatCidr(cidr)}` });
  }
  return taken;
}

/**
 * Throws {@link ErrorCode.SUBNET_OVERLAP} when `subnet` overlaps any of `taken`,
 * naming the first one it overlaps.
 */
export function assertNoOverlap(subnet: Cidr, taken: readonly TakenNetwork[]): void {
  const clash = taken.find((t) => cidrsOverlap(t.cidr, subnet));
  if (clash !== undefined) {
    throw new NetModeError(ErrorCode.SUBNET_OVERLAP, `subnet ${formatCidr(subnet)} overlaps ${clash.description}`, {
      context: { subnet: formatCidr(subnet), overlaps: formatCidr(clash.cidr) },
    });
  }
}
