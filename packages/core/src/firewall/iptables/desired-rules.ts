import {
  BASE_RULES,
  CONNTRACK,
  DNAT,
  FORWARD,
  GUARD,
  HAIRPIN,
  HOOK_CHAINS,
  INPUT,
  ISOLATION,
  POSTROUTING,
  managedChains,
} from './chains.js';
import { BASE_OWNER, endpointOwner, networkOwner, ownedRule, type ChainRef, type IptablesRule, type IptablesTable } from './rule.js';
import type { ValidEndpoint, ValidNetwork } from '../validate.js';

/**
 * Everything one owner should have: after a change, the owner's rules in each
 * of `chains` are exactly `top` followed by `end` (filtered to that chain),
 * in that order, each once.
 */
export interface OwnedRules {
  /** The comment the rules carry. */
  readonly owner: string;
  /** The chains where this owner's rules are compared; rules of the owner found there and not wanted are removed. */
  readonly chains: readonly ChainRef[];
  /** Rules that go at the top of their chain, in the order they should end up. */
  readonly top: readonly IptablesRule[];
  /** Rules appended to their chain, in order. */
  readonly end: readonly IptablesRule[];
}

/** The shared base of the given tables: the hook jumps and NETMODE-FORWARD's first rules. */
export function baseRules(tables: readonly IptablesTable[]): OwnedRules {
  return {
    owner: BASE_OWNER,
    chains: tables.flatMap((table) => [...HOOK_CHAINS[table], ...managedChains(table)]),
    top: tables.flatMap((table) => BASE_RULES[table]),
    end: [],
  };
}

const LOOPBACK = '127.0.0.0/8';

/**
 * The rules of one network. NETMODE-FORWARD is the only chain where order
 * matters; there each network appends, in this order: the icc verdict for
 * traffic within the bridge, then either (internal) drop everything in or
 * out, or send traffic leaving for another interface through the isolation
 * check, accept it, and drop new traffic arriving from elsewhere. With several
 * networks appended one after another this still gives isolation: a packet
 * from bridge A to bridge B meets either A's jump to NETMODE-ISOLATION (which
 * drops anything out any netmode bridge) or B's "drop new traffic in" first.
 * An internal network also puts two drops at the top of NETMODE-CT and two
 * rules in NETMODE-INPUT (replies accepted, the rest dropped).
 */
export function networkRules(network: ValidNetwork): OwnedRules {
  const owner = networkOwner(network.networkId);
  const br = network.bridge;
  const rule = (ref: ChainRef, matches: readonly string[], target: readonly string[]) => ownedRule(ref, owner, matches, target);
  const forward = [rule(FORWARD, ['-i', br, '-o', br], ['-j', network.icc ? 'ACCEPT' : 'DROP'])];
  if (network.internal) {
    forward.push(rule(FORWARD, ['-i', br], ['-j', 'DROP']), rule(FORWARD, ['-o', br], ['-j', 'DROP']));
  } else {
    forward.push(
      rule(FORWARD, ['-i', br, '!', '-o', br], ['-j', ISOLATION.chain]),
      rule(FORWARD, ['-i', br, '!', '-o', br], ['-j', 'ACCEPT']),
      rule(FORWARD, ['-o', br], ['-j', 'DROP']),
    );
  }
  const masquerade = network.ipMasq && !network.internal;
  // NETMODE-CT accepts established and DNATed traffic before the rules
  // above are reached: an internal network's drops must come first there,
  // or a container routing to its gateway would reach another network's
  // published ports.
  const top = network.internal
    ? [rule(CONNTRACK, ['-i', br, '!', '-o', br], ['-j', 'DROP']), rule(CONNTRACK, ['!', '-i', br, '-o', br], ['-j', 'DROP'])]
    : [];
  // The embedded DNS server answers this network's containers only: DNS
  // to its address is accepted from the bridge (before an internal
  // network's drop) and dropped from anywhere else, whatever the source.
  const dns = network.dnsAddress;
  const dnsRules =
    dns === undefined
      ? []
      : (['udp', 'tcp'] as const).flatMap((proto) => [
          rule(INPUT, ['-d', `${dns}/32`, '-i', br, '-p', proto, '-m', proto, '--dport', '53'], ['-j', 'ACCEPT']),
          rule(INPUT, ['-d', `${dns}/32`, '-p', proto, '-m', proto, '--dport', '53'], ['-j', 'DROP']),
        ]);
  // Nor may it reach the host itself; replies to the host's own connections pass.
  const input = network.internal
    ? [
        rule(INPUT, ['-i', br, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED'], ['-j', 'ACCEPT']),
        rule(INPUT, ['-i', br], ['-j', 'DROP']),
      ]
    : [];
  const end = [
    rule(GUARD, ['-d', LOOPBACK, '-i', br], ['-j', 'DROP']),
    rule(GUARD, ['-s', LOOPBACK, '-i', br], ['-j', 'DROP']),
    ...(masquerade ? network.subnets.map((s) => rule(POSTROUTING, ['-s', s, '!', '-o', br], ['-j', 'MASQUERADE'])) : []),
    rule(POSTROUTING, ['-o', br, '-m', 'conntrack', '--ctstate', 'DNAT'], ['-j', HAIRPIN.chain]),
    rule(POSTROUTING, ['-s', LOOPBACK, '-o', br], ['-j', 'MASQUERADE']),
    ...network.subnets.map((s) => rule(HAIRPIN, ['-s', s], ['-j', 'MASQUERADE'])),
    ...forward,
    rule(CONNTRACK, ['-o', br], ['-j', 'ACCEPT']),
    rule(CONNTRACK, ['-i', br, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED'], ['-j', 'ACCEPT']),
    rule(ISOLATION, ['-o', br], ['-j', 'DROP']),
    ...dnsRules,
    ...input,
  ];
  return { owner, chains: (['raw', 'nat', 'filter'] as const).flatMap(managedChains), top, end };
}

/**
 * The DNAT rules of one endpoint, one per port. Rules for one host address
 * go at the top of NETMODE-DNAT and rules for every address at the end, so a
 * mapping on an address wins over one on every address for the same port.
 */
export function endpointRules(endpoint: ValidEndpoint): OwnedRules {
  const owner = endpointOwner(endpoint.endpointId);
  const top: IptablesRule[] = [];
  const end: IptablesRule[] = [];
  for (const port of endpoint.ports) {
    // A port the userland proxy serves is left to it from the endpoint's own
    // bridge and, on every address, for the host's packets to 127.0.0.0/8
    // (Docker's rules with --userland-proxy); on a loopback address only
    // the proxy serves it.
    if (port.proxied === true && port.hostIp !== undefined && port.hostIp.startsWith('127.')) continue;
    const proxied = port.proxied === true ? ['!', '-i', endpoint.bridge] : [];
    const matches = [...proxied, '-p', port.protocol, '-m', port.protocol, '--dport', String(port.hostPort)];
    const target = ['-j', 'DNAT', '--to-destination', `${endpoint.address}:${port.containerPort}`];
    if (port.hostIp === undefined)
      end.push(ownedRule(DNAT, owner, [...(proxied.length > 0 ? ['!', '-d', LOOPBACK] : []), ...matches], target));
    else top.push(ownedRule(DNAT, owner, ['-d', `${port.hostIp}/32`, ...matches], target));
  }
  return { owner, chains: [DNAT], top, end };
}

/** The same owner with no rules wanted anywhere: what a teardown reconciles to. */
export function noRules(owner: string, tables: readonly IptablesTable[]): OwnedRules {
  return { owner, chains: tables.flatMap(managedChains), top: [], end: [] };
}
