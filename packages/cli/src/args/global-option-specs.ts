// The global options as data, alone in a module that imports no command:
// the parser (global-options.ts) needs the registry's commands for its
// hints, while the session and the settings need only this table.
import { BUILT_IN_DRIVER_PACKAGES } from '../drivers/built-in.js';
import type { GlobalOptions } from './globals.js';

/** How a global option's value is written. */
export type Kind = 'string' | 'boolean' | 'integer' | 'firewall' | 'list';

/** One global option: its spellings, variable, key in {@link GlobalOptions}, help, and as a daemon setting, how it changes. */
export interface Spec {
  readonly long: string;
  readonly short?: string;
  readonly kind: Kind;
  readonly env?: string;
  readonly key: keyof MutableGlobals | 'iptables' | 'help' | 'version';
  readonly help: string;
  readonly arg?: string;
  /** Client-side too: the state directory (the CLI's container records), `-H` itself, TLS, `--debug`. */
  readonly client?: true;
  /**
   * A daemon setting's value when never given, to tell whether a value
   * given is a change (`--mtu 1500` changes nothing). Without it, any value
   * given where none is in force is a change.
   */
  readonly default?: SettingValue;
  /**
   * How a daemon setting takes a new value (docs/configuration.md):
   * `default-network` — it shapes the default network `bridge`, which is
   * removed and made again with the new value unless an endpoint uses it;
   * `any-time` — it is read at each use and takes the new value at once;
   * `fixed` (when unset) — it cannot change while any endpoint or
   * user-defined network exists. A flag that is not a daemon setting of the
   * SDK has `client`.
   */
  readonly change?: SettingChange;
  /** A daemon setting that giving this one removes from those in force (`--bip` and `-b`, which exclude each other). */
  readonly excludes?: keyof MutableGlobals;
}

/** A daemon setting's value, as the parser makes it. */
export type SettingValue = string | number | boolean | readonly string[];

/** See {@link Spec.change}. */
export type SettingChange = 'default-network' | 'any-time' | 'fixed';

export type MutableGlobals = { -readonly [K in keyof GlobalOptions]: GlobalOptions[K] };

/** The global options, in the order `--help` lists them. */
export const GLOBAL_OPTIONS: readonly Spec[] = [
  {
    long: 'bridge',
    short: 'b',
    kind: 'string',
    env: 'NETMODE_BRIDGE',
    key: 'bridge',
    arg: 'NAME',
    change: 'default-network',
    excludes: 'bip',
    help: 'use an existing bridge for the default network',
  },
  {
    long: 'bip',
    kind: 'string',
    env: 'NETMODE_BIP',
    key: 'bip',
    arg: 'CIDR',
    default: '172.17.0.1/16',
    change: 'default-network',
    excludes: 'bridge',
    help: 'address of the default bridge (default 172.17.0.1/16)',
  },
  {
    long: 'icc',
    kind: 'boolean',
    env: 'NETMODE_ICC',
    key: 'icc',
    default: true,
    change: 'default-network',
    help: 'containers on one bridge may talk to each other (default true)',
  },
  {
    long: 'ip-forward',
    kind: 'boolean',
    env: 'NETMODE_IP_FORWARD',
    key: 'ipForward',
    default: true,
    change: 'any-time',
    help: 'turn on net.ipv4.ip_forward in the host namespace (default true)',
  },
  {
    long: 'ip-masq',
    kind: 'boolean',
    env: 'NETMODE_IP_MASQ',
    key: 'ipMasq',
    default: true,
    change: 'default-network',
    help: 'masquerade traffic leaving the host (default true)',
  },
  {
    long: 'iptables',
    kind: 'boolean',
    env: 'NETMODE_IPTABLES',
    key: 'iptables',
    help: 'false: no firewall rules at all (same as --firewall none)',
  },
  {
    long: 'userland-proxy',
    kind: 'boolean',
    env: 'NETMODE_USERLAND_PROXY',
    key: 'userlandProxy',
    default: false,
    // Each endpoint keeps what it was published with; the setting is read at every connect.
    change: 'any-time',
    help: 'published ports also served by a proxy on the host port, for paths the kernel\ncannot take: --iptables=false, --ip-forward=false, 127.0.0.1 with -b (default false)',
  },
  {
    long: 'mtu',
    kind: 'integer',
    env: 'NETMODE_MTU',
    key: 'mtu',
    arg: 'N',
    default: 1500,
    change: 'default-network',
    help: 'MTU of bridges and veth pairs (default 1500)',
  },
  {
    long: 'firewall',
    kind: 'firewall',
    env: 'NETMODE_FIREWALL',
    key: 'firewall',
    arg: 'KIND',
    default: 'nftables',
    help: 'the firewall backend: nftables (default), iptables, none, or one a --driver-package registers',
  },
  {
    long: 'state-dir',
    kind: 'string',
    env: 'NETMODE_STATE_DIR',
    key: 'stateDir',
    client: true,
    arg: 'DIR',
    help: 'state directory (default /var/lib/netmode)',
  },
  {
    long: 'host-netns',
    kind: 'string',
    env: 'NETMODE_HOST_NETNS',
    key: 'hostNetns',
    arg: 'NAME',
    help: 'run the host side in the named namespace /run/netns/NAME',
  },
  {
    long: 'name-prefix',
    kind: 'string',
    env: 'NETMODE_NAME_PREFIX',
    key: 'namePrefix',
    arg: 'PREFIX',
    default: 'nm-',
    help: 'prefix of the namespaces and interfaces netmode makes (default nm-)',
  },
  {
    long: 'driver-package',
    kind: 'list',
    env: 'NETMODE_DRIVER_PACKAGES',
    key: 'driverPackages',
    arg: 'SPEC',
    default: BUILT_IN_DRIVER_PACKAGES,
    help: 'register the drivers of these packages or files instead of the built-in\nnone, host, bridge and container; repeatable, or comma-separated',
  },
  {
    long: 'host',
    short: 'H',
    kind: 'string',
    env: 'NETMODE_HOST',
    key: 'host',
    client: true,
    arg: 'URL',
    help: "talk to the netmode daemon at URL (unix:///PATH or tcp://HOST:PORT) instead of\nembedding the SDK; the options above are then the daemon's",
  },
  {
    long: 'tlsverify',
    kind: 'boolean',
    env: 'NETMODE_TLS_VERIFY',
    key: 'tlsVerify',
    client: true,
    help: 'with -H tcp://: use TLS and verify the daemon',
  },
  {
    long: 'tlscacert',
    kind: 'string',
    key: 'tlsCaCert',
    client: true,
    arg: 'FILE',
    help: "with --tlsverify: the CA that signed the daemon's certificate",
  },
  { long: 'tlscert', kind: 'string', key: 'tlsCert', client: true, arg: 'FILE', help: 'with --tlsverify: the client certificate' },
  { long: 'tlskey', kind: 'string', key: 'tlsKey', client: true, arg: 'FILE', help: "with --tlsverify: the client certificate's key" },
  {
    long: 'debug',
    short: 'D',
    kind: 'boolean',
    env: 'NETMODE_DEBUG',
    key: 'debug',
    client: true,
    help: 'print the full error context on failure',
  },
  { long: 'help', short: 'h', kind: 'boolean', key: 'help', client: true, help: 'print this help' },
  { long: 'version', short: 'v', kind: 'boolean', key: 'version', client: true, help: 'print the version' },
];

export const DEFAULT_STATE_DIR = '/var/lib/netmode';

/** A daemon setting: a global option of the SDK rather than of this client, kept in the state directory. */
export type DaemonSettingSpec = Spec & { readonly key: keyof GlobalOptions };

/**
 * The daemon settings, in `--help` order: every global option that is not
 * the client's, but `--iptables`, which is folded into `--firewall`.
 */
export const DAEMON_SETTINGS: readonly DaemonSettingSpec[] = GLOBAL_OPTIONS.filter(
  (spec): spec is DaemonSettingSpec => spec.client !== true && spec.key !== 'iptables',
);
