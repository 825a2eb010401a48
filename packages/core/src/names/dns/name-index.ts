import { parseAddress } from '../../net/address.js';
import type { NameTable, NameTableEndpoint, NameTableNetwork, NameTableSandbox } from '../name-table.js';

/**
 * A {@link NameTable} arranged for the questions the embedded DNS server
 * asks of it on every query: who is asking, and which names that asker may
 * see. Built once per table, read by every query that arrives while it is
 * current.
 *
 * @module
 */

/** A server a sandbox's other questions go to. */
export interface Upstream {
  /** Canonical IP address text, as the socket layer reports a sender. */
  readonly address: string;
  /** UDP and TCP port. */
  readonly port: number;
}

/** A sandbox as the server sees it when it asks. */
export interface Asker {
  /** The sandbox from the table. */
  readonly sandbox: NameTableSandbox;
  /** Its upstreams, parsed; those that do not parse are left out. */
  readonly upstreams: readonly Upstream[];
  /** The ids of the networks it is on, in the order of its endpoints. */
  readonly networkIds: readonly string[];
}

/** One network's part of the index. */
export interface IndexedNetwork {
  /** The network from the table. */
  readonly network: NameTableNetwork;
  /** Its name in lower case, for `NAME.NETWORK`. */
  readonly lowerName: string;
  /** Source address → the sandbox whose endpoint on this network has it. */
  readonly askers: ReadonlyMap<string, Asker>;
  /** Name → the endpoints on this network that answer to it. */
  readonly names: ReadonlyMap<string, readonly NameTableEndpoint[]>;
  /** Address → the endpoint on this network that has it. */
  readonly addresses: ReadonlyMap<string, NameTableEndpoint>;
}

/** A name table arranged for lookups. */
export interface NameIndex {
  /** Network id → its part. */
  readonly networks: ReadonlyMap<string, IndexedNetwork>;
  /** Listener address → the id of the network it serves. */
  readonly networkByAddress: ReadonlyMap<string, string>;
}

/**
 * Indexes `table`. Pure. Upstreams that are neither `IP` nor `IP:PORT`
 * (`[IPv6]:PORT`) are reported through `skipped` and left out, rather than
 * failing the whole table: one sandbox's bad setting must not silence the
 * others.
 */
export function indexNameTable(table: NameTable, skipped: (message: string) => void = () => {}): NameIndex {
  const networks = new Map<
    string,
    {
      network: NameTableNetwork;
      askers: Map<string, Asker>;
      names: Map<string, NameTableEndpoint[]>;
      addresses: Map<string, NameTableEndpoint>;
    }
  >();
  const networkByAddress = new Map<string, string>();
  for (const network of table.networks) {
    if (networks.has(network.id)) continue;
    networks.set(network.id, { network, askers: new Map(), names: new Map(), addresses: new Map() });
    if (networkByAddress.has(network.address))
      skipped(`networks ${networkByAddress.get(network.address)} and ${network.id} share ${network.address}; answering for the first`);
    else networkByAddress.set(network.address, network.id);
  }
  for (const sandbox of table.sandboxes) {
    const served = sandbox.endpoints.filter((e) => networks.has(e.networkId));
    const asker: Asker = {
      sandbox,
      upstreams: parseUpstreams(sandbox, skipped),
      networkIds: [...new Set(served.map((e) => e.networkId))],
    };
    for (const endpoint of served) {
      const entry = networks.get(endpoint.networkId);
      if (entry === undefined) continue;
      for (const address of endpoint.addresses) {
        entry.askers.set(address, asker);
        entry.addresses.set(address, endpoint);
      }
      for (const name of endpoint.names) {
        const list = entry.names.get(name) ?? [];
        list.push(endpoint);
        entry.names.set(name, list);
      }
    }
  }
  const indexed = new Map<string, IndexedNetwork>();
  for (const [id, entry] of networks) indexed.set(id, { ...entry, lowerName: entry.network.name.toLowerCase() });
  return { networks: indexed, networkByAddress };
}

/** The sandbox that `source` is on network `networkId`, if any: only those get answers. */
export function findAsker(index: NameIndex, networkId: string, source: string): Asker | undefined {
  return index.networks.get(networkId)?.askers.get(source);
}

const DNS_PORT = 53;
const BRACKETED = /^\[([^\]]+)\]:(\d{1,5})$/;
const WITH_PORT = /^([0-9.]+):(\d{1,5})$/;

function parseUpstreams(sandbox: NameTableSandbox, skipped: (message: string) => void): Upstream[] {
  const upstreams: Upstream[] = [];
  for (const text of sandbox.upstreams) {
    const upstream = parseUpstream(text);
    if (upstream === undefined)
      skipped(`container ${sandbox.containerId}: upstream ${JSON.stringify(text)} is neither IP nor IP:PORT; left out`);
    else upstreams.push(upstream);
  }
  return upstreams;
}

function parseUpstream(text: string): Upstream | undefined {
  const match = BRACKETED.exec(text) ?? WITH_PORT.exec(text);
  const host = match?.[1] ?? text;
  const port = match?.[2] === undefined ? DNS_PORT : Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  try {
    return { address: parseAddress(host).text, port };
  } catch {
    return undefined;
  }
}
