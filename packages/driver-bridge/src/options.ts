import { assertInterfaceName, formatCidr, invalidConfig, lastAddress, parseCidr } from '@netmode/core';

/**
 * Options of the bridge driver: the daemon-level settings Docker documents
 * for its default bridge (`-b`, `--bip`, `--mtu`, `--icc`, `--ip-masq`,
 * `--ip-forward`, `--iptables`), which also serve as defaults for
 * user-defined bridge networks.
 */
export interface BridgeDriverOptions {
  /**
   * An existing bridge for the default network `bridge` (Docker's `-b`).
   * netmode uses its first IPv4 address as gateway and subnet, and never
   * creates, changes the addresses of, or deletes it. Cannot be combined with `bip`.
   */
  readonly bridge?: string;
  /** The default network's bridge address and prefix (Docker's `--bip`). Default `172.17.0.1/16`. */
  readonly bip?: string;
  /** The name of the default network's bridge when netmode creates it. Default `netmode0`. */
  readonly bridgeName?: string;
  /** MTU of every bridge netmode creates and of both veth ends. Default 1500. */
  readonly mtu?: number;
  /** Whether containers on one bridge may talk to each other (Docker's `--icc`). Default true. */
  readonly icc?: boolean;
  /** Whether traffic leaving the host from a bridge network is masqueraded (Docker's `--ip-masq`). Default true. */
  readonly ipMasq?: boolean;
  /**
   * Whether netmode turns on `net.ipv4.ip_forward` in the host namespace
   * (Docker's `--ip-forward`). Default true. When false it is never written,
   * and a `warning` event says so if forwarding is off.
   */
  readonly ipForward?: boolean;
  /**
   * A firewall backend for this driver other than the instance's
   * (`createNetMode({ firewall })`, `nftables` by default): the name of any
   * registered backend — `nftables`, `iptables`, `none` (Docker's
   * `--iptables=false`: no rule anywhere, so no masquerade, no published
   * ports and no isolation) or a third party's. Unset: the instance's.
   */
  readonly firewall?: string;
  /**
   * Whether the userland proxy serves published ports besides the kernel's
   * DNAT (Docker's `--userland-proxy`). Default false: the kernel alone,
   * with the host port held by a socket the proxy would use. With true, the
   * port holder forwards what reaches its socket to the container, so
   * published ports work where the kernel path cannot: with the `none`
   * firewall (Docker's `--iptables=false`), from a container through the
   * host's address or its gateway when `ip_forward` is off, and from the
   * host's 127.0.0.1 on an existing bridge (`bridge`, where netmode leaves
   * `route_localnet` as it finds it). The container then sees the gateway's
   * address as the client's for those paths. Needs the port holder
   * (`createNetMode({ holdHostPorts })`, on by default).
   */
  readonly userlandProxy?: boolean;
}

/** The driver options with defaults filled in and values checked. */
export interface ResolvedBridgeOptions {
  /** See {@link BridgeDriverOptions.bridge}. */
  readonly bridge: string | undefined;
  /** The default network's gateway, from `bip`. */
  readonly gateway: string;
  /** The default network's subnet, from `bip`. */
  readonly subnet: string;
  /** See {@link BridgeDriverOptions.bridgeName}. */
  readonly bridgeName: string;
  /** See {@link BridgeDriverOptions.mtu}. */
  readonly mtu: number;
  /** See {@link BridgeDriverOptions.icc}. */
  readonly icc: boolean;
  /** See {@link BridgeDriverOptions.ipMasq}. */
  readonly ipMasq: boolean;
  /** See {@link BridgeDriverOptions.ipForward}. */
  readonly ipForward: boolean;
  /** See {@link BridgeDriverOptions.firewall}; undefined means the instance's. */
  readonly firewall: string | undefined;
  /** See {@link BridgeDriverOptions.userlandProxy}. */
  readonly userlandProxy: boolean;
}

/** DI token of the resolved driver options. */
export const BRIDGE_DRIVER_OPTIONS = Symbol.for('netmode.driver-bridge.options');

/** The smallest and largest MTU a bridge and a veth accept. */
export const MTU_RANGE = [68, 65535] as const;

/** Fills in defaults and checks every value; throws ERR_INVALID_CONFIG naming the option. */
export function resolveBridgeOptions(options: BridgeDriverOptions): ResolvedBridgeOptions {
  if (options.bridge !== undefined && options.bip !== undefined) {
    throw invalidConfig('bip', 'cannot be combined with bridge: an existing bridge keeps its own address');
  }
  if (options.bridge !== undefined) assertInterfaceName(options.bridge, 'bridge');
  const bridgeName = options.bridgeName ?? 'netmode0';
  assertInterfaceName(bridgeName, 'bridgeName');
  const bip = parseCidr(options.bip ?? '172.17.0.1/16', 'bip');
  if (bip.family !== 4) throw invalidConfig('bip', 'must be an IPv4 address with prefix length, like 172.17.0.1/16');
  if (bip.prefixLength > 30) throw invalidConfig('bip', 'the prefix length must be 30 or less');
  const host = bip.address.value;
  if (host === bip.network || host === lastAddress(bip)) {
    throw invalidConfig(
      'bip',
      `${options.bip} is the subnet's network or broadcast address; give the bridge's own address, like 172.17.0.1/16`,
    );
  }
  // Whether it names a registered backend, and whether that one can
  // enforce icc: false, the driver asks the instance's registry.
  const firewall = options.firewall;
  if (firewall !== undefined && typeof firewall !== 'string') throw invalidConfig('firewall', 'must be the name of a firewall backend');
  const icc = checkBoolean(options.icc, 'icc', true);
  return {
    bridge: options.bridge,
    gateway: bip.address.text,
    subnet: formatCidr(bip),
    bridgeName,
    mtu: checkMtu(options.mtu, 'mtu', 1500),
    icc,
    ipMasq: checkBoolean(options.ipMasq, 'ipMasq', true),
    ipForward: checkBoolean(options.ipForward, 'ipForward', true),
    firewall,
    userlandProxy: checkBoolean(options.userlandProxy, 'userlandProxy', false),
  };
}

/** Checks an optional boolean option. */
export function checkBoolean(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidConfig(field, `must be true or false, not ${JSON.stringify(value)}`);
  return value;
}

/** Checks an optional MTU option. */
export function checkMtu(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MTU_RANGE[0] || value > MTU_RANGE[1]) {
    throw invalidConfig(field, `${JSON.stringify(value)} must be a whole number from ${MTU_RANGE[0]} to ${MTU_RANGE[1]}`);
  }
  return value;
}
