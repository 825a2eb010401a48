import type { TableListing } from './listing.js';
import { TABLE_OWNER, createScript, type ChainDefinition, type OwnedTable, type SetDefinition } from './owned-table.js';

/**
 * The shared base of the nftables backend: one table `inet netmode` whose
 * sets, maps, chains and rules never change after creation. Networks and
 * endpoints only add and delete set and map elements, so the thousandth
 * endpoint costs one small transaction, like the tenth. What someone deletes
 * by hand is put back whole the next time a network is set up (see
 * `ensureOwnedTable`).
 *
 * @module
 */

/** The table netmode owns, as nft names it (family and name). */
export const TABLE = 'inet netmode';

/** The comment on every object and rule of the base. */
export const BASE_OWNER = TABLE_OWNER;

/** The sets and maps, by role; each holds elements of many networks or endpoints. */
export const SET = {
  /** Every netmode bridge (ifname). */
  bridges: 'bridges',
  /** `br . br` for every bridge: traffic that stays within one bridge. */
  bridgePairs: 'bridge_pairs',
  /** `br . br` for the bridges of `icc: false` networks. */
  iccOff: 'icc_off',
  /** Bridges whose outgoing traffic is masqueraded (`ipMasq` and not internal). */
  masqBridges: 'masq_bridges',
  /** Bridges of internal networks. */
  internalBridges: 'internal_bridges',
  /** `br . address` for each network's embedded DNS server: where DNS to it may come from. */
  dnsListeners: 'dns_listeners',
  /** The embedded DNS server's addresses: DNS to one of them from anywhere but its bridge is dropped. */
  dnsAddrs: 'dns_addrs',
  /** Every subnet of every network (interval set), for hairpin masquerade. */
  subnets4: 'subnets4',
  /** `hostIp . proto . hostPort : address . containerPort`: ports published on one host address. */
  pubIp4: 'pub_ip4',
  /** `proto . hostPort : address . containerPort`: ports published on every host address. */
  pubAny4: 'pub_any4',
  /**
   * `ifname . hostIp . proto . hostPort` of ports the userland proxy serves,
   * published on one host address: from that interface (the endpoint's
   * bridge, and `lo` for the host's packets to 127.0.0.0/8) they are not DNATed.
   */
  proxyIp4: 'proxy_ip4',
  /** `ifname . proto . hostPort`: the same for proxied ports published on every host address. */
  proxyAny4: 'proxy_any4',
} as const;

/** The name of one of the base's sets or maps. */
export type SetName = (typeof SET)[keyof typeof SET];

/** The regular chain left to the administrator: created empty, never written, flushed or deleted while a network uses it. */
export const USER_CHAIN = 'user';

const SETS: readonly SetDefinition[] = [
  { kind: 'set', name: SET.bridges, body: 'type ifname;' },
  { kind: 'set', name: SET.bridgePairs, body: 'type ifname . ifname;' },
  { kind: 'set', name: SET.iccOff, body: 'type ifname . ifname;' },
  { kind: 'set', name: SET.masqBridges, body: 'type ifname;' },
  { kind: 'set', name: SET.internalBridges, body: 'type ifname;' },
  { kind: 'set', name: SET.dnsListeners, body: 'type ifname . ipv4_addr;' },
  { kind: 'set', name: SET.dnsAddrs, body: 'type ipv4_addr;' },
  { kind: 'set', name: SET.subnets4, body: 'type ipv4_addr; flags interval;' },
  { kind: 'map', name: SET.pubIp4, body: 'type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service;' },
  { kind: 'map', name: SET.pubAny4, body: 'type inet_proto . inet_service : ipv4_addr . inet_service;' },
  { kind: 'set', name: SET.proxyIp4, body: 'type ifname . ipv4_addr . inet_proto . inet_service;' },
  { kind: 'set', name: SET.proxyAny4, body: 'type ifname . inet_proto . inet_service;' },
];

// The address-specific map comes first, so a port published on one address
// wins over the same port published on every address. Before each map, the
// ports the userland proxy serves are let through unDNATed from where the
// proxy takes them: in prerouting from the endpoint's own bridge, in output
// (the host's own packets, which leave through `lo`) to 127.0.0.0/8.
const dnatRules = (from: string) => [
  `${from}iifname . ip daddr . meta l4proto . th dport @${SET.proxyIp4} return`,
  `fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @${SET.pubIp4}`,
  `${from}iifname . meta l4proto . th dport @${SET.proxyAny4} return`,
  `fib daddr type local dnat ip to meta l4proto . th dport map @${SET.pubAny4}`,
];
const PREROUTING_DNAT = dnatRules('');
const OUTPUT_DNAT = dnatRules('ip daddr 127.0.0.0/8 ').map((rule) => rule.replace(' iifname . ', ' oifname . '));

const CHAINS: readonly ChainDefinition[] = [
  { name: USER_CHAIN, rules: [] },
  {
    name: 'prerouting_guard',
    hook: 'type filter hook prerouting priority raw; policy accept;',
    // The bridges carry route_localnet (so 127.0.0.1 can be DNATed to a
    // container), so the kernel no longer drops 127/8 on them as martian:
    // without these, containers could reach the host's loopback services, or
    // send from a forged loopback source to any host address.
    rules: [`iifname @${SET.bridges} ip daddr 127.0.0.0/8 drop`, `iifname @${SET.bridges} ip saddr 127.0.0.0/8 drop`],
  },
  { name: 'prerouting', hook: 'type nat hook prerouting priority dstnat; policy accept;', rules: PREROUTING_DNAT },
  // The host's own packets (to 127.0.0.1 or its own addresses) never pass prerouting.
  { name: 'output', hook: 'type nat hook output priority -100; policy accept;', rules: OUTPUT_DNAT },
  {
    name: 'postrouting',
    hook: 'type nat hook postrouting priority srcnat; policy accept;',
    rules: [
      `iifname @${SET.masqBridges} oifname != @${SET.bridges} masquerade`,
      // Hairpin and cross-network access to a published port: without it the
      // reply would go straight back to the client, not through the DNAT.
      `ct status dnat oifname @${SET.bridges} ip saddr @${SET.subnets4} masquerade`,
      // A 127.0.0.0/8 source is martian on a bridge; the container must see the host.
      `oifname @${SET.bridges} ip saddr 127.0.0.0/8 masquerade`,
    ],
  },
  {
    name: 'forward',
    // Policy accept: netmode never decides for traffic that touches no netmode bridge.
    hook: 'type filter hook forward priority filter; policy accept;',
    rules: [
      `jump ${USER_CHAIN}`,
      // An internal network's traffic stays on its bridge, DNATed and
      // established traffic included (a container that routes to its
      // gateway must not reach another network's published port): before
      // the accepts below.
      `iifname @${SET.internalBridges} iifname . oifname != @${SET.bridgePairs} drop`,
      `oifname @${SET.internalBridges} iifname . oifname != @${SET.bridgePairs} drop`,
      'ct state established,related accept',
      'ct status dnat accept',
      `iifname . oifname @${SET.iccOff} drop`,
      `iifname . oifname @${SET.bridgePairs} accept`,
      `iifname @${SET.bridges} oifname @${SET.bridges} drop`,
      `iifname @${SET.bridges} accept`,
      `oifname @${SET.bridges} drop`,
    ],
  },
  {
    name: 'input',
    // Traffic to the host's own addresses is the host's business (Docker
    // lets containers reach it), except from an internal network, which has
    // no way out: not even to the host. Replies to the host's own
    // connections into it pass.
    hook: 'type filter hook input priority filter; policy accept;',
    rules: [
      // The embedded DNS server answers a network's own containers only,
      // whatever address a packet claims: DNS to its address is taken from
      // that network's bridge (an internal one's too) and dropped from
      // anywhere else (another bridge, the uplink, the host itself).
      `meta l4proto { tcp, udp } th dport 53 iifname . ip daddr @${SET.dnsListeners} accept`,
      `meta l4proto { tcp, udp } th dport 53 ip daddr @${SET.dnsAddrs} drop`,
      `iifname @${SET.internalBridges} ct state established,related accept`,
      `iifname @${SET.internalBridges} drop`,
    ],
  },
];

/** The description of netmode's table: every set, chain and rule but the elements. */
export const BASE: OwnedTable = { table: TABLE, sets: SETS, chains: CHAINS, userChain: USER_CHAIN };

/** The transaction that creates the base (race-safe, see `createScript`). */
export function baseScript(): string {
  return createScript(BASE);
}

/** Whether a full listing shows no netmode bridge and no rule of the administrator's in `user`. */
export function baseUnused(listing: TableListing): boolean {
  return (listing.sets.get(SET.bridges) ?? []).length === 0 && !listing.rules.some((r) => r.chain === USER_CHAIN);
}
