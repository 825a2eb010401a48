import type { Endpoint } from '../model/endpoint.js';
import type { NetworkRecord } from '../model/network.js';
import { parseAddress } from '../net/address.js';
import { defaultHostname } from './settings.js';

/**
 * What the embedded DNS server knows, derived from the state's records
 * alone (so the server, a process of its own, reads it again after a
 * connect, and after a restart).
 *
 * @module
 */

/** A network the embedded DNS server serves. */
export interface NameTableNetwork {
  /** The network id. */
  readonly id: string;
  /** The network's name: `NAME.NETWORK` resolves too, and PTR answers end in it. */
  readonly name: string;
  /** The IPv4 address the server listens on for it (the gateway, an address of the host). */
  readonly address: string;
  /** Whether the network is internal: its containers' other questions are not forwarded. */
  readonly internal: boolean;
}

/** One endpoint of a sandbox, on a network the server serves. */
export interface NameTableEndpoint {
  /** The network id. */
  readonly networkId: string;
  /**
   * The names it answers to on that network, lower case, without duplicates:
   * its `name`, the container id, the first 12 digits of a 64-hex-digit id,
   * its aliases on that network. The first is what PTR answers give.
   */
  readonly names: readonly string[];
  /** Its IPv4 addresses, without prefix length. */
  readonly addresses: readonly string[];
}

/** A sandbox with at least one endpoint on a network the server serves. */
export interface NameTableSandbox {
  /** The container id (the sandbox's first endpoint's container). */
  readonly containerId: string;
  /**
   * Where its questions about other names go: `IP` or `IP:PORT`, in order
   * (the container's `dns` setting, else the host's resolvers).
   */
  readonly upstreams: readonly string[];
  /**
   * Whether its other questions may leave the host: false when every
   * network of the sandbox is internal (the container has no way out, so
   * neither have its questions).
   */
  readonly forward: boolean;
  /** Its endpoints on the networks the server serves. */
  readonly endpoints: readonly NameTableEndpoint[];
}

/** Everything the embedded DNS server answers from. */
export interface NameTable {
  /** The networks it listens for; only those with at least one attached endpoint. */
  readonly networks: readonly NameTableNetwork[];
  /** The sandboxes on them. */
  readonly sandboxes: readonly NameTableSandbox[];
}

/**
 * The address the embedded DNS server listens on for `network`: its first
 * IPv4 subnet's gateway, when the network has the server (`dns`).
 */
export function embeddedDnsAddress(network: Pick<NetworkRecord, 'dns' | 'subnets'>): string | undefined {
  if (!network.dns) return undefined;
  for (const subnet of network.subnets) {
    if (subnet.gateway !== undefined && parseAddress(subnet.gateway, 'gateway').family === 4) return subnet.gateway;
  }
  return undefined;
}

/**
 * The table for `networks` and `endpoints` (every record; those not
 * attached, or on networks without the server, are left out). `upstreams`
 * gives a sandbox's forwarders from its first endpoint's name settings.
 */
export function buildNameTable(
  networks: readonly NetworkRecord[],
  endpoints: readonly Endpoint[],
  upstreams: (names: Endpoint['names']) => readonly string[],
): NameTable {
  const served = new Map<string, NameTableNetwork>();
  for (const network of networks) {
    const address = network.status === 'ready' ? embeddedDnsAddress(network) : undefined;
    if (address !== undefined) served.set(network.id, { id: network.id, name: network.name, address, internal: network.internal });
  }
  const bySandbox = new Map<string, Endpoint[]>();
  for (const endpoint of endpoints) {
    // An orphaned endpoint's container left: its namespace stays for its joiners, its names go.
    if (endpoint.status !== 'attached') continue;
    if (endpoint.joinedTo !== undefined) continue;
    const list = bySandbox.get(endpoint.containerId) ?? [];
    list.push(endpoint);
    bySandbox.set(endpoint.containerId, list);
  }
  const sandboxes: NameTableSandbox[] = [];
  const used = new Set<string>();
  for (const [containerId, list] of [...bySandbox].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const onServed = list.filter((e) => served.has(e.networkId));
    if (onServed.length === 0) continue;
    for (const e of onServed) used.add(e.networkId);
    const first = [...list].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0))[0] as Endpoint;
    const networksOf = list.map((e) => networks.find((n) => n.id === e.networkId));
    sandboxes.push({
      containerId,
      upstreams: [...upstreams(first.names)],
      forward: networksOf.some((n) => n !== undefined && !n.internal),
      endpoints: onServed.map((e) => ({
        networkId: e.networkId,
        names: namesOf(e),
        addresses: e.addresses.map((a) => a.split('/')[0] as string).filter((a) => !a.includes(':')),
      })),
    });
  }
  return { networks: [...served.values()].filter((n) => used.has(n.id)), sandboxes };
}

// The container's name first: a PTR answer gives the first name, as Docker gives the name.
function namesOf(endpoint: Endpoint): string[] {
  const names = endpoint.names.name === undefined ? [] : [endpoint.names.name];
  names.push(endpoint.containerId);
  if (/^[0-9a-f]{64}$/.test(endpoint.containerId)) names.push(defaultHostname(endpoint.containerId));
  names.push(...endpoint.aliases);
  return [...new Set(names.map((n) => n.toLowerCase()))];
}
