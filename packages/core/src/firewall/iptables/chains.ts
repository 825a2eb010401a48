import { BASE_OWNER, ownedRule, type ChainRef, type IptablesRule, type IptablesTable } from './rule.js';

/**
 * The chains netmode owns and the jumps that lead into them. Apart from one
 * jump per hook (inserted at position 1, commented `netmode`), nothing here
 * touches a chain netmode does not own, and no built-in chain's policy is
 * ever changed.
 *
 * @module
 */

/** raw: drops packets arriving on a bridge to or from 127.0.0.0/8 before conntrack sees them. */
export const GUARD: ChainRef = { table: 'raw', chain: 'NETMODE-GUARD' };
/** nat: the published ports, one DNAT rule per port. */
export const DNAT: ChainRef = { table: 'nat', chain: 'NETMODE-DNAT' };
/** nat: masquerade per network. */
export const POSTROUTING: ChainRef = { table: 'nat', chain: 'NETMODE-POSTROUTING' };
/**
 * nat: masquerade for DNATed traffic from any netmode subnet. A chain of its
 * own, because "from any netmode subnet and out any netmode bridge" is a
 * cross product of networks: each network jumps here for its bridge and
 * lists its subnets here, two rules per network instead of one per pair.
 */
export const HAIRPIN: ChainRef = { table: 'nat', chain: 'NETMODE-HAIRPIN' };
/** filter: netmode's forwarding decisions, jumped to first from FORWARD. */
export const FORWARD: ChainRef = { table: 'filter', chain: 'NETMODE-FORWARD' };
/** filter: the administrator's chain; created empty, never written or flushed by netmode. */
export const USER: ChainRef = { table: 'filter', chain: 'NETMODE-USER' };
/**
 * filter: accepts established, related and DNATed traffic, but only to or
 * from a netmode bridge. An unscoped accept here would end FORWARD for every
 * other system's traffic too (and skip, for example, DOCKER-USER's limits on
 * Docker's published ports), since netmode's jump comes first.
 */
export const CONNTRACK: ChainRef = { table: 'filter', chain: 'NETMODE-CT' };
/** filter: Docker's isolation stage 2: traffic leaving one bridge for another netmode bridge is dropped. */
export const ISOLATION: ChainRef = { table: 'filter', chain: 'NETMODE-ISOLATION' };
/**
 * filter: traffic to the host's own addresses, jumped to first from INPUT.
 * Holds rules of internal networks only: replies accepted, the rest
 * dropped. What netmode itself will serve there (its embedded DNS server)
 * goes before the drop.
 */
export const INPUT: ChainRef = { table: 'filter', chain: 'NETMODE-INPUT' };

/** Every chain netmode owns, by table, in the order they are created. */
export const OWNED_CHAINS: Readonly<Record<IptablesTable, readonly ChainRef[]>> = {
  raw: [GUARD],
  nat: [DNAT, POSTROUTING, HAIRPIN],
  filter: [FORWARD, USER, CONNTRACK, ISOLATION, INPUT],
};

/** The chains whose rules belong to netmode (all owned chains but the administrator's). */
export function managedChains(table: IptablesTable): ChainRef[] {
  return OWNED_CHAINS[table].filter((ref) => ref !== USER);
}

const LOCAL = ['-m', 'addrtype', '--dst-type', 'LOCAL'];

/** The base rules of each table: the hook jumps and the first rules of NETMODE-FORWARD, all to go at the top. */
export const BASE_RULES: Readonly<Record<IptablesTable, readonly IptablesRule[]>> = {
  raw: [ownedRule({ table: 'raw', chain: 'PREROUTING' }, BASE_OWNER, [], ['-j', GUARD.chain])],
  nat: [
    ownedRule({ table: 'nat', chain: 'PREROUTING' }, BASE_OWNER, LOCAL, ['-j', DNAT.chain]),
    // Output too, so the host's own connections (127.0.0.1 included) reach published ports.
    ownedRule({ table: 'nat', chain: 'OUTPUT' }, BASE_OWNER, LOCAL, ['-j', DNAT.chain]),
    ownedRule({ table: 'nat', chain: 'POSTROUTING' }, BASE_OWNER, [], ['-j', POSTROUTING.chain]),
  ],
  filter: [
    ownedRule({ table: 'filter', chain: 'FORWARD' }, BASE_OWNER, [], ['-j', FORWARD.chain]),
    ownedRule({ table: 'filter', chain: 'INPUT' }, BASE_OWNER, [], ['-j', INPUT.chain]),
    ownedRule(FORWARD, BASE_OWNER, [], ['-j', USER.chain]),
    ownedRule(FORWARD, BASE_OWNER, ['-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED,DNAT'], ['-j', CONNTRACK.chain]),
  ],
};

/** The built-in chains netmode puts its one jump into. */
export const HOOK_CHAINS: Readonly<Record<IptablesTable, readonly ChainRef[]>> = {
  raw: [{ table: 'raw', chain: 'PREROUTING' }],
  nat: [
    { table: 'nat', chain: 'PREROUTING' },
    { table: 'nat', chain: 'OUTPUT' },
    { table: 'nat', chain: 'POSTROUTING' },
  ],
  filter: [
    { table: 'filter', chain: 'FORWARD' },
    { table: 'filter', chain: 'INPUT' },
  ],
};
