import { assertInterfaceName, invalidConfig, parseNetwork, type Firewall, type NetworkRecord, type NetworkSpec } from '@netmode/core';
import { checkBoolean, checkMtu, type ResolvedBridgeOptions } from './options.js';

/**
 * Options of a user-defined bridge network, given as
 * `createNetwork({ driver: 'bridge', options })`. Unset values take the
 * driver's options.
 */
export interface BridgeNetworkOptions {
  /** An existing bridge to use; netmode never creates or deletes it. */
  readonly bridge?: string;
  /** The name of the bridge netmode creates; default: the name prefix, `b`, and hash digits of the network id. */
  readonly bridgeName?: string;
  /** MTU of the bridge and the veth ends. */
  readonly mtu?: number;
  /** Whether containers on this network may talk to each other. */
  readonly icc?: boolean;
  /** Whether traffic leaving the host from this network is masqueraded. */
  readonly ipMasq?: boolean;
}

const KNOWN_OPTIONS = new Set(['bridge', 'bridgeName', 'mtu', 'icc', 'ipMasq']);

/** What a network record's `options` hold once the driver has settled them. */
export interface BridgeSettings {
  /** The bridge interface. */
  readonly bridge: string;
  /** Whether the bridge existed before and must be left alone. */
  readonly existing: boolean;
  /** MTU of the bridge and the veth ends. */
  readonly mtu: number;
  /** Whether containers on this network may talk to each other. */
  readonly icc: boolean;
  /** Whether traffic leaving the host is masqueraded. */
  readonly ipMasq: boolean;
}

/**
 * Checks a user-defined network's spec against the driver options; pure.
 * Throws ERR_INVALID_CONFIG naming the option at fault.
 */
export function validateNetworkSpec(spec: NetworkSpec, driver: ResolvedBridgeOptions, firewall: Firewall): void {
  const options = spec.options ?? {};
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw invalidConfig(`options.${key}`, `is not a bridge network option (known: ${[...KNOWN_OPTIONS].join(', ')})`);
    }
  }
  if (options['bridge'] !== undefined && options['bridgeName'] !== undefined) {
    throw invalidConfig('options.bridgeName', 'cannot be combined with options.bridge (an existing bridge keeps its name)');
  }
  if (options['bridge'] !== undefined) assertInterfaceName(String(options['bridge']), 'options.bridge');
  if (options['bridgeName'] !== undefined) assertInterfaceName(String(options['bridgeName']), 'options.bridgeName');
  checkMtu(options['mtu'], 'options.mtu', driver.mtu);
  const icc = checkBoolean(options['icc'], 'options.icc', driver.icc);
  checkBoolean(options['ipMasq'], 'options.ipMasq', driver.ipMasq);
  if (!icc && !firewall.capabilities.isolate) {
    throw invalidConfig('options.icc', `false needs a firewall that enforces it; the ${firewall.name} backend does not`);
  }
  if ((spec.subnets?.length ?? 0) > 1) throw invalidConfig('subnets', 'a bridge network takes one subnet');
  for (const [index, subnet] of (spec.subnets ?? []).entries()) {
    if (parseNetwork(subnet.subnet, `subnets[${index}].subnet`).family !== 4) {
      throw invalidConfig(`subnets[${index}].subnet`, 'the bridge driver supports IPv4 subnets only in this version');
    }
  }
}

/** The settled options of a user-defined network, stored in its record. */
export function settleNetworkOptions(spec: NetworkRecord, driver: ResolvedBridgeOptions, defaultBridge: string): BridgeSettings {
  const options = spec.options;
  const existing = options['bridge'] !== undefined;
  return {
    bridge: String(options['bridge'] ?? options['bridgeName'] ?? defaultBridge),
    existing,
    mtu: checkMtu(options['mtu'], 'options.mtu', driver.mtu),
    icc: checkBoolean(options['icc'], 'options.icc', driver.icc),
    ipMasq: checkBoolean(options['ipMasq'], 'options.ipMasq', driver.ipMasq),
  };
}

/** The settings of the predefined default network, from the driver options. */
export function defaultNetworkSettings(driver: ResolvedBridgeOptions): BridgeSettings {
  return {
    bridge: driver.bridge ?? driver.bridgeName,
    existing: driver.bridge !== undefined,
    mtu: driver.mtu,
    icc: driver.icc,
    ipMasq: driver.ipMasq,
  };
}

/** Reads the settings back from a network record written by this driver. */
export function readSettings(network: NetworkRecord): BridgeSettings {
  const o = network.options;
  const bridge = String(o['bridge']);
  assertInterfaceName(bridge, 'network bridge');
  return {
    bridge,
    existing: o['existing'] === true,
    mtu: checkMtu(o['mtu'], 'network mtu', 1500),
    icc: checkBoolean(o['icc'], 'network icc', true),
    ipMasq: checkBoolean(o['ipMasq'], 'network ipMasq', true),
  };
}
