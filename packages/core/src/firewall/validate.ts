import { invalidConfig } from '../errors.js';
import type { PortProtocol } from '../model/endpoint.js';
import { cidrsOverlap, formatCidr, parseAddress, parseNetwork, type Cidr } from '../net/address.js';
import { assertInterfaceName } from '../net/names.js';
import type { FirewallEndpoint, FirewallNetwork } from './firewall.js';

/**
 * The one check of what a caller hands a firewall backend, before any
 * process starts, shared by every backend so that each value means the
 * same to all of them. Every value ends up in a script (nft's, where a
 * malformed address becomes a DNS lookup; iptables-restore's, where a quote
 * would end a comment early), so nothing unchecked passes.
 *
 * One meaning for `0.0.0.0` as a host address: Docker's spelling of "every
 * address", the same as leaving `hostIp` out.
 *
 * @module
 */

// Owner ids go into element comments between double quotes: no quote, no
// backslash, no space can pass; 128 characters keeps the comment well under
// nft's 256-byte limit.
const OWNER_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;
const PROTOCOLS: readonly PortProtocol[] = ['tcp', 'udp'];
const MAX_PORT = 65535;

/**
 * A network whose every field was checked, with its subnets in canonical
 * form and none overlapping another: the same shape as the contract's.
 */
export type ValidNetwork = FirewallNetwork;

/** One published port (a range is expanded into one of these per port). */
export interface PublishedPort {
  /** `tcp` or `udp`. */
  readonly protocol: PortProtocol;
  /** The canonical IPv4 host address; absent for every address. */
  readonly hostIp?: string;
  /** The host port. */
  readonly hostPort: number;
  /** The container port. */
  readonly containerPort: number;
  /** Whether the userland proxy serves it (see `FirewallPort.proxied`). */
  readonly proxied?: boolean;
}

/** An endpoint whose every field was checked, with its port ranges expanded. */
export interface ValidEndpoint {
  /** The owner id. */
  readonly endpointId: string;
  /** The network's owner id. */
  readonly networkId: string;
  /** The network's bridge. */
  readonly bridge: string;
  /** The container's canonical IPv4 address. */
  readonly address: string;
  /** One entry per published port, no two with the same (host address, protocol, host port). */
  readonly ports: readonly PublishedPort[];
}

/**
 * Returns `id` when it can be an owner written in a comment (an nft
 * element's, an iptables rule's): 1–128 letters, digits, `_`, `.`, `:`,
 * `@`, `-`, starting with a letter or digit; throws ERR_INVALID_CONFIG
 * otherwise.
 */
export function assertOwnerId(id: string, field: string): string {
  if (typeof id !== 'string' || !OWNER_ID.test(id)) {
    throw invalidConfig(
      field,
      `${JSON.stringify(id)} is not a valid id: use 1 to 128 letters, digits, '_', '.', ':', '@' or '-', starting with a letter or digit`,
    );
  }
  return id;
}

/** Checks a network and returns it normalised; throws ERR_INVALID_CONFIG at the first fault. */
export function validateFirewallNetwork(network: FirewallNetwork): ValidNetwork {
  assertOwnerId(network.networkId, 'networkId');
  const context = { networkId: network.networkId };
  assertInterfaceName(network.bridge, 'bridge');
  assertFlag(network.icc, 'icc', context);
  assertFlag(network.ipMasq, 'ipMasq', context);
  assertFlag(network.internal, 'internal', context);
  if (!Array.isArray(network.subnets)) throw invalidConfig('subnets', 'must be an array of CIDRs', context);
  const cidrs: Cidr[] = [];
  for (const [index, text] of network.subnets.entries()) {
    const field = `subnets[${index}]`;
    const cidr = parseNetwork(text, field);
    if (cidr.family !== 4) throw ipv4Only(field, text, context);
    // A rule for 0.0.0.0/0 matches everything, and iptables-save drops `-s 0.0.0.0/0`, so it could never be found again.
    if (cidr.prefixLength === 0) throw invalidConfig(field, `${text} covers every address`, context);
    // An interval set refuses overlapping elements: say so here, not through nft.
    const other = cidrs.find((c) => cidrsOverlap(c, cidr));
    if (other) throw invalidConfig(field, `${text} overlaps ${formatCidr(other)} of the same network`, context);
    cidrs.push(cidr);
  }
  let dnsAddress: string | undefined;
  if (network.dnsAddress !== undefined) {
    const parsed = parseAddress(network.dnsAddress, 'dnsAddress');
    if (parsed.family !== 4) throw ipv4Only('dnsAddress', network.dnsAddress, context);
    dnsAddress = parsed.text;
  }
  return {
    networkId: network.networkId,
    bridge: network.bridge,
    subnets: cidrs.map(formatCidr),
    icc: network.icc,
    ipMasq: network.ipMasq,
    internal: network.internal,
    ...(dnsAddress === undefined ? {} : { dnsAddress }),
  };
}

/** Checks an endpoint and returns it normalised, ranges expanded; throws ERR_INVALID_CONFIG at the first fault. */
export function validateFirewallEndpoint(endpoint: FirewallEndpoint): ValidEndpoint {
  assertOwnerId(endpoint.endpointId, 'endpointId');
  const context = { endpointId: endpoint.endpointId };
  assertOwnerId(endpoint.networkId, 'networkId');
  assertInterfaceName(endpoint.bridge, 'bridge');
  const address = parseIpv4(endpoint.address, 'address', context);
  if (!Array.isArray(endpoint.ports)) throw invalidConfig('ports', 'must be an array', context);
  const ports: PublishedPort[] = [];
  const seen = new Set<string>();
  for (const [index, port] of endpoint.ports.entries()) {
    const field = `ports[${index}]`;
    if (!PROTOCOLS.includes(port.protocol)) {
      throw invalidConfig(`${field}.protocol`, `${JSON.stringify(port.protocol)} must be tcp or udp`, context);
    }
    // 0.0.0.0 is Docker's spelling of "every address"; as a key or `-d 0.0.0.0/32` it would match nothing.
    const parsed = port.hostIp === undefined ? undefined : parseIpv4(port.hostIp, `${field}.hostIp`, context);
    const hostIp = parsed === '0.0.0.0' ? undefined : parsed;
    assertPort(port.hostPort, `${field}.hostPort`, context);
    assertPort(port.containerPort, `${field}.containerPort`, context);
    if (port.proxied !== undefined && typeof port.proxied !== 'boolean') {
      throw invalidConfig(`${field}.proxied`, `${JSON.stringify(port.proxied)} must be true or false`, context);
    }
    if (!Number.isInteger(port.count) || port.count < 1) {
      throw invalidConfig(`${field}.count`, `${String(port.count)} must be a whole number of at least 1`, context);
    }
    const last = Math.max(port.hostPort, port.containerPort) + port.count - 1;
    if (last > MAX_PORT) {
      throw invalidConfig(
        `${field}.count`,
        `${port.count} ports from ${port.hostPort}:${port.containerPort} run past ${MAX_PORT}`,
        context,
      );
    }
    for (let i = 0; i < port.count; i += 1) {
      const hostPort = port.hostPort + i;
      const key = `${hostIp ?? '*'} ${port.protocol} ${hostPort}`;
      if (seen.has(key)) {
        throw invalidConfig(field, `publishes ${port.protocol} port ${hostPort} on ${hostIp ?? 'every address'} a second time`, context);
      }
      seen.add(key);
      ports.push({
        protocol: port.protocol,
        ...(hostIp === undefined ? {} : { hostIp }),
        hostPort,
        containerPort: port.containerPort + i,
        ...(port.proxied === true ? { proxied: true } : {}),
      });
    }
  }
  return { endpointId: endpoint.endpointId, networkId: endpoint.networkId, bridge: endpoint.bridge, address, ports };
}

function parseIpv4(text: string, field: string, context: Record<string, string>): string {
  const address = parseAddress(text, field);
  if (address.family !== 4) throw ipv4Only(field, text, context);
  return address.text;
}

function ipv4Only(field: string, text: string, context: Record<string, string>) {
  return invalidConfig(field, `${text} is IPv6; the firewall backends support IPv4 only in this version`, context);
}

function assertPort(value: number, field: string, context: Record<string, string>): void {
  if (!Number.isInteger(value) || value < 1 || value > MAX_PORT) {
    throw invalidConfig(field, `${String(value)} must be a whole number from 1 to ${MAX_PORT}`, context);
  }
}

function assertFlag(value: boolean, field: string, context: Record<string, string>): void {
  if (typeof value !== 'boolean') throw invalidConfig(field, `${String(value)} must be true or false`, context);
}
