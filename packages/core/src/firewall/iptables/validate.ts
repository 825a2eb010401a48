import { invalidConfig } from '../../errors.js';
import { formatCidr, parseAddress, parseNetwork } from '../../net/address.js';
import { assertInterfaceName } from '../../net/names.js';
import type { FirewallEndpoint, FirewallNetwork, FirewallPort } from '../firewall.js';

/**
 * A network checked and canonicalised (IPv4 network CIDRs without
 * duplicates), ready to become rules: the same shape as the contract's.
 */
export type CheckedNetwork = FirewallNetwork;

/** One published port, after a range was expanded. */
export interface CheckedPort {
  /** `tcp` or `udp`. */
  readonly protocol: 'tcp' | 'udp';
  /** Canonical IPv4 host address, or `undefined` for every address. */
  readonly hostIp: string | undefined;
  /** The host port. */
  readonly hostPort: number;
  /** The container port. */
  readonly containerPort: number;
}

/** An endpoint checked and canonicalised, its ranges expanded to single ports. */
export interface CheckedEndpoint {
  /** The endpoint id. */
  readonly endpointId: string;
  /** The container's IPv4 address. */
  readonly address: string;
  /** One entry per published port. */
  readonly ports: readonly CheckedPort[];
}

// Owner ids end up in a rule comment: no quotes, backslashes or spaces, and
// short enough for xt_comment's 256 bytes with the `netmode:endpoint:` prefix.
const OWNER_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;
const IPV4_ONLY = 'the iptables firewall supports IPv4 only';

/** Throws ERR_INVALID_CONFIG unless `id` can be written into an ownership comment. */
export function checkOwnerId(id: string, field: string): string {
  if (typeof id !== 'string' || !OWNER_ID.test(id)) {
    throw invalidConfig(
      field,
      `${JSON.stringify(id)} is not valid: use 1 to 128 letters, digits, '_', '.', ':', '@' or '-', starting with a letter or digit`,
    );
  }
  return id;
}

/** Checks every field of a network and returns it canonicalised; throws ERR_INVALID_CONFIG at the first fault. */
export function checkNetwork(network: FirewallNetwork): CheckedNetwork {
  const networkId = checkOwnerId(network.networkId, 'networkId');
  assertInterfaceName(network.bridge, 'bridge');
  if (!Array.isArray(network.subnets)) throw invalidConfig('subnets', 'expected an array of IPv4 CIDRs');
  const subnets = network.subnets.map((subnet, i) => {
    const cidr = parseNetwork(subnet, `subnets[${i}]`);
    if (cidr.family !== 4) throw invalidConfig(`subnets[${i}]`, `${JSON.stringify(subnet)}: ${IPV4_ONLY}`);
    // iptables-save drops `-s 0.0.0.0/0`, so such a rule could never be found again.
    if (cidr.prefixLength === 0) throw invalidConfig(`subnets[${i}]`, `${JSON.stringify(subnet)} covers every address`);
    return formatCidr(cidr);
  });
  for (const flag of ['icc', 'ipMasq', 'internal'] as const) {
    if (typeof network[flag] !== 'boolean') throw invalidConfig(flag, `expected true or false, got ${JSON.stringify(network[flag])}`);
  }
  return {
    networkId,
    bridge: network.bridge,
    subnets: [...new Set(subnets)],
    icc: network.icc,
    ipMasq: network.ipMasq,
    internal: network.internal,
  };
}

/** Checks every field of an endpoint, expands its port ranges, and throws ERR_INVALID_CONFIG at the first fault. */
export function checkEndpoint(endpoint: FirewallEndpoint): CheckedEndpoint {
  const endpointId = checkOwnerId(endpoint.endpointId, 'endpointId');
  checkOwnerId(endpoint.networkId, 'networkId');
  assertInterfaceName(endpoint.bridge, 'bridge');
  const address = checkIpv4(endpoint.address, 'address');
  if (!Array.isArray(endpoint.ports)) throw invalidConfig('ports', 'expected an array of ports');
  const ports = endpoint.ports.flatMap((port, i) => expandPort(port, `ports[${i}]`));
  return { endpointId, address, ports };
}

function expandPort(port: FirewallPort, field: string): CheckedPort[] {
  if (port.protocol !== 'tcp' && port.protocol !== 'udp') {
    throw invalidConfig(`${field}.protocol`, `${JSON.stringify(port.protocol)} must be tcp or udp`);
  }
  checkPortNumber(port.hostPort, `${field}.hostPort`);
  checkPortNumber(port.containerPort, `${field}.containerPort`);
  if (!Number.isInteger(port.count) || port.count < 1) {
    throw invalidConfig(`${field}.count`, `${JSON.stringify(port.count)} must be a whole number of at least 1`);
  }
  const last = Math.max(port.hostPort, port.containerPort) + port.count - 1;
  if (last > 65535) throw invalidConfig(`${field}.count`, `${port.count} ports from ${port.hostPort}/${port.containerPort} run past 65535`);
  // 0.0.0.0 is Docker's spelling of "every address"; `-d 0.0.0.0/32` would match nothing.
  const hostIp = port.hostIp === undefined || port.hostIp === '0.0.0.0' ? undefined : checkIpv4(port.hostIp, `${field}.hostIp`);
  return Array.from({ length: port.count }, (_, offset) => ({
    protocol: port.protocol,
    hostIp,
    hostPort: port.hostPort + offset,
    containerPort: port.containerPort + offset,
  }));
}

function checkPortNumber(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw invalidConfig(field, `${JSON.stringify(value)} must be a whole number from 1 to 65535`);
  }
}

function checkIpv4(text: string, field: string): string {
  const address = parseAddress(text, field);
  if (address.family !== 4) throw invalidConfig(field, `${JSON.stringify(text)}: ${IPV4_ONLY}`);
  return address.text;
}
