import { usage } from '../cli-error.js';
import { COMMANDS } from '../declarations/index.js';
import { eachCommand } from '../registry/command-spec.js';
import { BUILT_IN_DRIVER_PACKAGES } from '../drivers/built-in.js';
import type { GlobalOptions } from './globals.js';

/** What {@link parseGlobalOptions} returns. */
export interface ParsedGlobals {
  readonly globals: GlobalOptions;
  /** The subcommand and everything after it. */
  readonly rest: string[];
  readonly help: boolean;
  readonly version: boolean;
  /**
   * The flags given that are settings of the SDK (`--host-netns`,
   * `--firewall`, the bridge's, …) rather than of this client: with `-H`
   * they belong to `netmode daemon`, and a command refuses them.
   */
  readonly sdkFlags: readonly string[];
}

type Kind = 'string' | 'boolean' | 'integer' | 'firewall' | 'list';

interface Spec {
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

type MutableGlobals = { -readonly [K in keyof GlobalOptions]: GlobalOptions[K] };

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

/**
 * Parses the options before the subcommand. Booleans take Docker's
 * spelling: `--icc` or `--icc=true|false` (never `--icc false`, whose
 * `false` would be the subcommand). Values: `--bip CIDR` or `--bip=CIDR`,
 * `-b NAME` or `-bNAME`. Throws a usage error naming the flag or variable.
 */
export function parseGlobalOptions(argv: readonly string[], env: NodeJS.ProcessEnv = {}): ParsedGlobals {
  const fromFlags = new Map<Spec, unknown>();
  let index = 0;
  for (; index < argv.length; index += 1) {
    const token = argv[index] as string;
    if (token === '--') {
      index += 1;
      break;
    }
    if (!token.startsWith('-') || token === '-') break;
    let spec: Spec | undefined;
    let inline: string | undefined;
    if (token.startsWith('--')) {
      const eq = token.indexOf('=');
      const name = eq < 0 ? token.slice(2) : token.slice(2, eq);
      inline = eq < 0 ? undefined : token.slice(eq + 1);
      spec = GLOBAL_OPTIONS.find((s) => s.long === name);
      if (!spec) throw usage(`unknown global option --${name}${hintForMisplaced(name)}`);
    } else {
      spec = GLOBAL_OPTIONS.find((s) => s.short === token[1]);
      if (!spec) throw usage(`unknown global option ${token.slice(0, 2)}`);
      if (token.length > 2) inline = token.slice(2);
    }
    const flag = token.startsWith('--') ? `--${spec.long}` : `-${spec.short}`;
    let raw: string;
    if (spec.kind === 'boolean') {
      if (inline === undefined) {
        const next = argv[index + 1];
        if (next === 'true' || next === 'false') throw usage(`write ${flag}=${next}: a boolean option takes its value after '='`);
        raw = 'true';
      } else raw = inline;
    } else if (inline !== undefined) {
      raw = inline;
    } else {
      const next = argv[index + 1];
      if (next === undefined) throw usage(`${flag} needs a value (${spec.arg ?? 'VALUE'})`);
      raw = next;
      index += 1;
    }
    const converted = convert(spec, raw, flag);
    // A repeated list option adds to the list; any other repeated option is replaced.
    fromFlags.set(
      spec,
      spec.kind === 'list' ? [...((fromFlags.get(spec) as string[] | undefined) ?? []), ...(converted as string[])] : converted,
    );
  }

  const fromEnv = new Map<Spec, unknown>();
  for (const spec of GLOBAL_OPTIONS) {
    const raw = spec.env === undefined ? undefined : env[spec.env];
    if (raw === undefined || raw === '') continue;
    fromEnv.set(spec, convert(spec, raw, spec.env as string));
  }

  const value = (key: Spec['key']): { value: unknown; source: 'flag' | 'env' | undefined } => {
    const spec = GLOBAL_OPTIONS.find((s) => s.key === key) as Spec;
    if (fromFlags.has(spec)) return { value: fromFlags.get(spec), source: 'flag' };
    if (fromEnv.has(spec)) return { value: fromEnv.get(spec), source: 'env' };
    return { value: undefined, source: undefined };
  };

  const globals: MutableGlobals = { stateDir: DEFAULT_STATE_DIR, debug: false };
  for (const { key } of GLOBAL_OPTIONS) {
    // iptables is folded into firewall below; help and version are not settings.
    if (key === 'iptables' || key === 'help' || key === 'version') continue;
    const { value: v } = value(key);
    if (v !== undefined) (globals as Record<string, unknown>)[key] = v;
  }
  // --iptables=false is Docker's "no firewall"; it must not contradict --firewall.
  const iptables = value('iptables');
  const firewall = value('firewall');
  if (iptables.value === false) {
    if (firewall.value !== undefined && firewall.value !== 'none') {
      // A flag beats an environment variable; two of the same level contradict.
      if (firewall.source === iptables.source) {
        throw usage(
          `--iptables=false and --firewall ${String(firewall.value)} contradict each other (--iptables=false means --firewall none)`,
        );
      }
      if (iptables.source === 'flag') globals.firewall = 'none';
    } else {
      globals.firewall = 'none';
    }
  } else if (iptables.value === true && firewall.value === 'none' && iptables.source === firewall.source) {
    throw usage('--iptables=true and --firewall none contradict each other');
  }
  const sdkFlags = [...fromFlags.keys()].filter((spec) => spec.client !== true).map((spec) => `--${spec.long}`);
  return { globals, rest: argv.slice(index), help: value('help').value === true, version: value('version').value === true, sdkFlags };
}

function convert(spec: Spec, raw: string, where: string): unknown {
  switch (spec.kind) {
    case 'string':
      if (raw === '') throw usage(`${where} must not be empty`);
      return raw;
    case 'boolean':
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw usage(`${where} must be true or false, not ${JSON.stringify(raw)}`);
    case 'integer':
      if (!/^[0-9]+$/.test(raw)) throw usage(`${where} must be a whole number, not ${JSON.stringify(raw)}`);
      return Number(raw);
    case 'firewall':
      // Which backends exist is the SDK's registry's to say (a driver package may add one).
      if (!/^[a-z][a-z0-9-]{0,31}$/.test(raw))
        throw usage(`${where} must be the name of a firewall backend (nftables, iptables, none, …), not ${JSON.stringify(raw)}`);
      return raw;
    case 'list': {
      const entries = raw.split(',').map((entry) => entry.trim());
      if (entries.some((entry) => entry === ''))
        throw usage(`${where} must be a comma-separated list without empty entries, not ${JSON.stringify(raw)}`);
      return entries;
    }
  }
}

// A command's option given before the command: name the first command that takes it.
function hintForMisplaced(name: string): string {
  const owner = eachCommand(COMMANDS).find(([, spec]) =>
    Object.entries(spec.options).some(([long, o]) => long === name || (o.type === 'string' && o.aliases?.includes(name))),
  );
  return owner ? ` (it belongs after the subcommand, e.g. netmode ${owner[0]} --${name} …)` : '';
}
