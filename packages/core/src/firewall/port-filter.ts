import { ErrorCode, invalidConfig, isNetModeError } from '../errors.js';
import { parseAddress } from '../net/address.js';
import { assertInterfaceName, assertMacAddress } from '../net/names.js';
import { parseOwnerMark } from '../model/owner.js';
import { type FirewallEndpoint, type FirewallOwner, type FirewallScope } from './firewall.js';
import { ensureBridgeNetfilter } from './bridge-netfilter.js';
import type { TableListing } from './nftables/listing.js';
import { applyScript, readTable, tableMissing } from './nftables/nft-command.js';
import { ensureOwnedTable, type OwnedTable } from './nftables/owned-table.js';
import { NftScript, endpointOwner, ifnameLiteral, type NftElement } from './nftables/script.js';
import { assertOwnerId } from './validate.js';

/**
 * The part of `icc: false` that works at layer 2: a bridge-family table that
 * drops every frame that is not IPv4 (ARP, IPv6, anything else) when it goes
 * from one isolated bridge port to another. Docker leaves ARP and other
 * non-IP traffic between the containers of an `icc=false` network open
 * (moby#36355); netmode does not.
 *
 * IPv4 is left to the layer-3 rules of the firewall backend, which drop
 * traffic between two containers of an `icc: false` network and let DNAT and
 * replies through: a container reaching a port published by another
 * container of its network is DNATed, and br_netfilter then forwards it at
 * layer 2 between the two ports, where the bridge family cannot tell it from
 * direct traffic (its `ct` needs nf_conntrack_bridge, which this kernel
 * lacks). Those rules see bridged IPv4 only through br_netfilter, so the
 * network's setup turns it on for its bridge (`ensureBridgeNetfilter`),
 * whatever `net.bridge.bridge-nf-call-iptables` says. netmode publishes IPv4
 * only, so nothing else needs the layer-3 path, and IPv6 between isolated
 * ports is dropped here whatever `bridge-nf-call-ip6tables` says.
 *
 * Why a set of ports and not of bridges: the bridge family's `meta ibrname`
 * is missing from kernels built without `nft_meta_bridge` (this project's CI
 * kernel refuses it with "Operation not supported"), while `iifname` and
 * `oifname` work everywhere. Two isolated ports are always on the same bridge
 * or on two bridges, which never forward to each other at layer 2, so one
 * set serves every network. Why not the bridge's own port isolation
 * (`isolated on`): it would cut the DNATed traffic above too.
 *
 * Both backends use this table (the `iptables` one too, through `nft`), so
 * `icc: false` needs the nft binary either way.
 *
 * @module
 */

/** The table, as nft names it (family and name). */
export const PORT_TABLE = 'bridge netmode';

/** The set of host-side interfaces (bridge ports) of endpoints on `icc: false` networks. */
export const ISOLATED_PORTS = 'isolated_ports';

/** `port . MAC` for each isolated port: the one source MAC (and ARP sender MAC) its frames may carry. */
export const PORT_MACS = 'port_macs';

/** `port . IPv4 address` for each isolated port: the one IPv4 source (and ARP sender address) its packets may carry. */
export const PORT_ADDRS4 = 'port_addrs4';

/** The description of the table: its sets, chains and rules, without elements. */
export const PORT_FILTER: OwnedTable = {
  table: PORT_TABLE,
  sets: [
    { kind: 'set', name: ISOLATED_PORTS, body: 'type ifname;' },
    { kind: 'set', name: PORT_MACS, body: 'type ifname . ether_addr;' },
    { kind: 'set', name: PORT_ADDRS4, body: 'type ifname . ipv4_addr;' },
  ],
  chains: [
    {
      name: 'prerouting',
      // Anti-spoofing: a container that takes another's MAC or address gets
      // none of its traffic. Prerouting runs before the bridge learns a
      // frame's source MAC, so a dropped frame never moves the other's
      // forwarding entry to this port (measured). An ARP claim for another's
      // address never reaches the host's neighbour cache either.
      hook: 'type filter hook prerouting priority filter; policy accept;',
      rules: [
        `iifname @${ISOLATED_PORTS} iifname . ether saddr != @${PORT_MACS} drop`,
        `iifname @${ISOLATED_PORTS} ether type ip iifname . ip saddr != @${PORT_ADDRS4} drop`,
        `iifname @${ISOLATED_PORTS} ether type arp iifname . arp saddr ether != @${PORT_MACS} drop`,
        `iifname @${ISOLATED_PORTS} ether type arp iifname . arp saddr ip != @${PORT_ADDRS4} drop`,
      ],
    },
    {
      name: 'forward',
      hook: 'type filter hook forward priority filter; policy accept;',
      rules: [`iifname @${ISOLATED_PORTS} oifname @${ISOLATED_PORTS} ether type != ip drop`],
    },
  ],
};

/** An endpoint whose bridge port is to be isolated, checked. */
export interface PortIsolation {
  /** The endpoint id: the owner written on the elements. */
  readonly endpointId: string;
  /** The host-side interface. */
  readonly port: string;
  /** The container interface's MAC, in lower case. */
  readonly mac: string;
  /** The container's IPv4 address. */
  readonly address: string;
}

/**
 * The isolation an endpoint asks for: its port, MAC and address when it is
 * on an `icc: false` network and names its host interface, else
 * `undefined`. Checks every value first (they end up in an nft script).
 *
 * @throws NetModeError ERR_INVALID_CONFIG for a bad id, interface name, MAC
 * (a missing one included) or address.
 */
export function portIsolation(endpoint: FirewallEndpoint): PortIsolation | undefined {
  if (endpoint.icc !== false || endpoint.hostInterface === undefined) return undefined;
  assertOwnerId(endpoint.endpointId, 'endpointId');
  assertInterfaceName(endpoint.hostInterface, 'hostInterface');
  const context = { endpointId: endpoint.endpointId };
  if (endpoint.mac === undefined) throw invalidConfig('mac', 'is needed to isolate the bridge port of an icc: false endpoint', context);
  const mac = assertMacAddress(endpoint.mac, 'mac');
  const address = parseAddress(endpoint.address, 'address');
  if (address.family !== 4) throw invalidConfig('address', `${endpoint.address} is not an IPv4 address`, context);
  return { endpointId: endpoint.endpointId, port: endpoint.hostInterface, mac, address: address.text };
}

/**
 * Keeps the table: creates it once (race-safe, like the inet base), adds and
 * removes three set elements per isolated port (its name, its `port . MAC`,
 * its `port . address`), each commented with its endpoint, and deletes it
 * when no port is left. Every change is one `nft -f -` transaction.
 */
export class PortFilter {
  /**
   * Readies an `icc: false` network: creates the table when missing, or puts
   * back what was deleted from it, race-safe like the inet base (see
   * `ensureOwnedTable`), then makes the bridge's IPv4 traffic pass the ip
   * hooks (`ensureBridgeNetfilter`).
   *
   * @throws NetModeError ERR_COMMAND_FAILED when the table cannot be made
   * whole, ERR_UNSUPPORTED without br_netfilter.
   */
  async setupNetwork(scope: FirewallScope, bridge: string): Promise<void> {
    await ensureOwnedTable(scope, PORT_FILTER);
    await ensureBridgeNetfilter(scope, bridge);
  }

  /**
   * An endpoint's setup around its isolation: isolates the port (when the
   * endpoint asks for it), then runs `publish`, the backend's own part; when
   * `publish` fails, releases the port again, so the setup is whole or
   * nothing. The isolation is checked before any process starts.
   */
  async setupEndpoint(scope: FirewallScope, endpoint: FirewallEndpoint, publish: () => Promise<void>): Promise<void> {
    const isolation = portIsolation(endpoint);
    if (isolation === undefined) return publish();
    await this.isolate(scope, isolation);
    try {
      await publish();
    } catch (error) {
      // Without the caller's signal: an aborted setup must still be undone.
      await this.release({ runner: scope.runner, netns: scope.netns }, isolation).catch(() => undefined);
      throw error;
    }
  }

  /**
   * An endpoint's teardown after the backend's own part (`withdraw`):
   * releases its port when it was isolated. The isolation is checked before
   * `withdraw` runs, so a bad interface name starts no process. (What an
   * attach that crashed left is removed by owner: {@link sweep}.)
   */
  async teardownEndpoint(scope: FirewallScope, endpoint: FirewallEndpoint, withdraw: () => Promise<void>): Promise<void> {
    const isolation = portIsolation(endpoint);
    await withdraw();
    if (isolation !== undefined) await this.release(scope, isolation);
  }

  /**
   * Adds the port's three elements in one transaction; a no-op for those
   * already there. The table must exist ({@link setupNetwork}).
   */
  async isolate(scope: FirewallScope, isolation: PortIsolation): Promise<void> {
    const script = new NftScript();
    for (const element of elements(isolation)) script.addElement(element);
    await applyScript(scope, script.toString());
  }

  /**
   * Removes the port's three elements in one transaction; succeeds when they,
   * or the table, are gone, and when `nft` is not installed (then no port was
   * ever isolated). A table without one of the sets (left by an older
   * netmode, not yet repaired) gets the sweep by comment instead.
   */
  async release(scope: FirewallScope, isolation: PortIsolation): Promise<void> {
    const script = new NftScript();
    for (const element of elements(isolation)) script.removeElement(element);
    try {
      await applyScript(scope, script.toString());
    } catch (error) {
      if (isNetModeError(error, ErrorCode.MISSING_TOOL)) return;
      if (!tableMissing(error)) throw error;
      await this.sweep(scope, isolation.endpointId);
    }
  }

  /**
   * Removes every element commented with the endpoint, from every set,
   * whatever its key; nothing when the table is gone or `nft` is not
   * installed (a host using the iptables backend without `icc: false`
   * networks never had the table).
   */
  async sweep(scope: FirewallScope, endpointId: string): Promise<void> {
    assertOwnerId(endpointId, 'endpointId');
    const owner = endpointOwner(endpointId);
    const listing = await readUnlessNoNft(scope);
    if (listing === null) return;
    const script = new NftScript();
    for (const set of [ISOLATED_PORTS, PORT_MACS, PORT_ADDRS4]) {
      for (const listed of listing.sets.get(set) ?? []) {
        if (listed.comment !== owner) continue;
        // The key goes back into a script: each part must still be what netmode writes there.
        assertListedKey(set, listed.key);
        script.deleteElement({ table: PORT_TABLE, set, key: listed.key, owner });
      }
    }
    if (!script.empty) await applyScript(scope, script.toString());
  }

  /** The endpoints that have an element in the table (none when it or `nft` is missing). */
  async owners(scope: FirewallScope): Promise<FirewallOwner[]> {
    const listing = await readUnlessNoNft(scope);
    if (listing === null) return [];
    const marks = [ISOLATED_PORTS, PORT_MACS, PORT_ADDRS4].flatMap((set) => (listing.sets.get(set) ?? []).map((e) => e.comment));
    return [...new Set(marks)].flatMap((mark) => parseOwnerMark(mark) ?? []);
  }

  /** Deletes the table when no port is in it; resolves to whether it is gone (also when `nft` is not installed). */
  async removeIfUnused(scope: FirewallScope): Promise<boolean> {
    try {
      const listing = await readUnlessNoNft(scope);
      if (listing === null) return true;
      if ((listing.sets.get(ISOLATED_PORTS) ?? []).length > 0) return false;
      await applyScript(scope, `delete table ${PORT_TABLE}\n`);
      return true;
    } catch (error) {
      if (tableMissing(error)) return true;
      throw error;
    }
  }
}

/** The table's full listing; `null` when it does not exist or `nft` is not installed. */
async function readUnlessNoNft(scope: FirewallScope): Promise<TableListing | null> {
  try {
    return await readTable(scope, PORT_TABLE, []);
  } catch (error) {
    if (isNetModeError(error, ErrorCode.MISSING_TOOL)) return null;
    throw error;
  }
}

/** The port's elements: its name, `port . MAC` and `port . address`. */
function elements(isolation: PortIsolation): NftElement[] {
  const owner = endpointOwner(isolation.endpointId);
  const port = ifnameLiteral(isolation.port);
  return [
    { table: PORT_TABLE, set: ISOLATED_PORTS, key: port, owner },
    { table: PORT_TABLE, set: PORT_MACS, key: `${port} . ${isolation.mac}`, owner },
    { table: PORT_TABLE, set: PORT_ADDRS4, key: `${port} . ${isolation.address}`, owner },
  ];
}

/**
 * Throws unless a listed key of `set` has the shape netmode writes: a quoted
 * interface name, then (in the two concatenated sets) a MAC or an IPv4
 * address.
 */
function assertListedKey(set: string, key: string): void {
  const parts = key.split(' . ');
  const [port = '', value = ''] = parts;
  assertInterfaceName(port.replace(/^"(.*)"$/, '$1'), 'listed port');
  if (parts.length !== (set === ISOLATED_PORTS ? 1 : 2)) {
    throw invalidConfig('listed key', `${JSON.stringify(key)} is not a key netmode writes into ${set}`);
  }
  if (set === PORT_MACS) assertMacAddress(value, 'listed MAC');
  if (set === PORT_ADDRS4 && parseAddress(value, 'listed address').family !== 4) {
    throw invalidConfig('listed address', `${value} is not an IPv4 address`);
  }
}
