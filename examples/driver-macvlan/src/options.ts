import {
  assertInterfaceName,
  cidrContains,
  cidrContainsCidr,
  invalidConfig,
  lastAddress,
  parseAddress,
  parseNetwork,
  type NetworkRecord,
  type NetworkSpec,
  type SubnetConfig,
} from '@netmode/core';

/**
 * How macvlan endpoints on one parent reach each other, as the kernel (and
 * Docker's `-o macvlan_mode=`) names it:
 *
 * - `bridge`: endpoints on the same parent talk directly, inside the kernel;
 * - `private`: they never talk to each other, not even through the outside switch;
 * - `vepa`: their traffic to each other goes out to the switch, which must
 *   send it back (802.1Qbg "hairpin" mode);
 * - `passthru`: one endpoint takes the parent over, with the parent's MAC.
 */
export type MacvlanMode = 'bridge' | 'private' | 'vepa' | 'passthru';

/** The modes the kernel offers, in Docker's order. */
export const MACVLAN_MODES: readonly MacvlanMode[] = ['bridge', 'private', 'vepa', 'passthru'];

/** Options of the macvlan driver, given to `registerMacvlanDriver`. */
export interface MacvlanDriverOptions {
  /** The mode of networks that do not name one in `options.mode`. Default `bridge`, as Docker. */
  readonly defaultMode?: MacvlanMode;
}

/**
 * Options of one macvlan network, given as
 * `createNetwork({ driver: 'macvlan', subnets: [{ subnet, gateway }], options })`.
 */
export interface MacvlanNetworkOptions {
  /**
   * The host interface the endpoints hang off (Docker's `-o parent=`): an
   * Ethernet link that exists in the host namespace, such as `eth0`, a
   * bridge, or a VLAN sub-interface you made (`eth0.10`; unlike Docker,
   * netmode does not create it). Required.
   */
  readonly parent: string;
  /** How endpoints on the parent reach each other (Docker's `-o macvlan_mode=`). Default: the driver's `defaultMode`. */
  readonly mode?: MacvlanMode;
}

/** The driver options with defaults filled in. */
export type ResolvedMacvlanOptions = Required<MacvlanDriverOptions>;

/** What a macvlan network record's `options` hold once the driver has settled them. */
export interface MacvlanSettings {
  /** The parent interface in the host namespace. */
  readonly parent: string;
  /** The macvlan mode. */
  readonly mode: MacvlanMode;
}

/** DI token of the resolved driver options. */
export const MACVLAN_DRIVER_OPTIONS = Symbol.for('netmode.example-driver-macvlan.options');

const KNOWN_NETWORK_OPTIONS = new Set(['parent', 'mode']);

/** Fills in defaults and checks values; throws ERR_INVALID_CONFIG naming the option. */
export function resolveMacvlanOptions(options: MacvlanDriverOptions): ResolvedMacvlanOptions {
  return { defaultMode: checkMode(options.defaultMode ?? 'bridge', 'defaultMode') };
}

/**
 * Checks a network specification; pure. A macvlan network sits on the
 * outside network's own subnet, so IPAM cannot pick one from its pools: the
 * subnet and the gateway (the outside router) are required.
 */
export function validateNetworkSpec(spec: NetworkSpec, driver: ResolvedMacvlanOptions): void {
  const options = spec.options ?? {};
  for (const key of Object.keys(options)) {
    if (!KNOWN_NETWORK_OPTIONS.has(key)) {
      throw invalidConfig(`options.${key}`, `is not a macvlan network option (known: ${[...KNOWN_NETWORK_OPTIONS].join(', ')})`);
    }
  }
  settle(options, driver);
  if (spec.internal === true) {
    // Docker makes an internal macvlan network on a dummy link; this kernel
    // setup has no dummy links, and on a real parent traffic leaves the host
    // with no netmode rule in its way.
    throw invalidConfig('internal', "is not supported by the macvlan driver: its traffic goes straight onto the parent's wire");
  }
  const subnets = spec.subnets ?? [];
  if (subnets.length !== 1) {
    throw invalidConfig('subnets', "a macvlan network takes exactly one subnet: the outside network's, with its gateway");
  }
  checkSubnet(subnets[0] as SubnetConfig);
}

/** The settled options of a network being created, for its record. */
export function settleNetworkOptions(network: NetworkRecord, driver: ResolvedMacvlanOptions): MacvlanSettings {
  return settle(network.options, driver);
}

/** Reads the settings back from a network record written by this driver. */
export function readSettings(network: NetworkRecord): MacvlanSettings {
  const parent = network.options['parent'];
  if (typeof parent !== 'string') throw invalidConfig('network parent', `network ${network.name} has no parent interface`);
  assertInterfaceName(parent, 'network parent');
  return { parent, mode: checkMode(network.options['mode'], 'network mode') };
}

/** The network's subnet with its gateway, read back from its record. */
export function readSubnet(network: NetworkRecord): SubnetConfig & { readonly gateway: string } {
  const subnet = network.subnets[0];
  if (!subnet?.gateway) throw invalidConfig('subnets', `network ${network.name} has no subnet with a gateway`);
  return { ...subnet, gateway: subnet.gateway };
}

function settle(options: Readonly<Record<string, unknown>>, driver: ResolvedMacvlanOptions): MacvlanSettings {
  const parent = options['parent'];
  if (parent === undefined) {
    throw invalidConfig('options.parent', 'is required: name the host interface the endpoints hang off, such as eth0');
  }
  if (typeof parent !== 'string') throw invalidConfig('options.parent', `must be an interface name, not ${JSON.stringify(parent)}`);
  assertInterfaceName(parent, 'options.parent');
  return { parent, mode: checkMode(options['mode'] ?? driver.defaultMode, 'options.mode') };
}

function checkMode(value: unknown, field: string): MacvlanMode {
  if (!MACVLAN_MODES.includes(value as MacvlanMode)) {
    throw invalidConfig(field, `${JSON.stringify(value)} must be one of ${MACVLAN_MODES.join(', ')}`);
  }
  return value as MacvlanMode;
}

function checkSubnet(config: SubnetConfig): void {
  const subnet = parseNetwork(config.subnet, 'subnets[0].subnet');
  if (subnet.family !== 4) throw invalidConfig('subnets[0].subnet', 'the macvlan driver supports IPv4 subnets only in this version');
  if (subnet.prefixLength > 30) throw invalidConfig('subnets[0].subnet', 'the prefix length must be 30 or less');
  if (config.gateway === undefined) {
    throw invalidConfig('subnets[0].gateway', "is required: the outside network's router, which the endpoints' default route goes through");
  }
  const gateway = parseAddress(config.gateway, 'subnets[0].gateway');
  if (gateway.family !== 4 || !cidrContains(subnet, gateway)) {
    throw invalidConfig('subnets[0].gateway', `${config.gateway} is outside subnet ${config.subnet}`);
  }
  if (gateway.value === subnet.network || gateway.value === lastAddress(subnet)) {
    throw invalidConfig('subnets[0].gateway', `${config.gateway} is the network or broadcast address of ${config.subnet}`);
  }
  if (config.ipRange !== undefined && !cidrContainsCidr(subnet, parseNetwork(config.ipRange, 'subnets[0].ipRange'))) {
    throw invalidConfig('subnets[0].ipRange', `${config.ipRange} is not inside subnet ${config.subnet}`);
  }
}
