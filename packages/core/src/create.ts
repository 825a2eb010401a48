import 'reflect-metadata';
import { createRequire } from 'node:module';
import { container as globalContainer, instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import { ErrorCode, NetModeError, invalidConfig } from './errors.js';
import { NetModeEmitter } from './events.js';
import { ExecaRunner, type ExecaRunnerOptions } from './exec/execa-runner.js';
import { HelperRunner } from './exec/helper-runner.js';
import type { CommandRunner } from './exec/runner.js';
import { StoreIpam } from './ipam/ipam.js';
import type { AddressPool } from './ipam/pools.js';
import { NetworkManager, type ManagerSettings } from './manager/network-manager.js';
import { validateNetnsRef } from './model/netns-ref.js';
import { CompanionPortHolder } from './names/companion-port-holder.js';
import { NameService, type NameServiceSettings } from './names/name-service.js';
import { resolve } from 'node:path';
import { HOST_NETNS, type NetnsRef } from './model/netns-ref.js';
import { readEphemeralPortRange, readHostRoutes } from './netns/host-facts.js';
import { NetnsSandboxService, resolveSandboxSysctls } from './netns/sandbox-service.js';
import { FileStateStore } from './store/file-store.js';
import type { StateStore } from './store/state-store.js';
import { StorePortAllocator } from './ports/port-allocator.js';
import {
  BUILTIN_FIREWALL_BACKENDS,
  DEFAULT_FIREWALL,
  FirewallRegistry,
  registerFirewallBackend,
  type FirewallBackend,
} from './firewall/registry.js';
import {
  COMMAND_RUNNER,
  EVENTS,
  FIREWALL,
  FIREWALL_BACKEND,
  FIREWALL_REGISTRY,
  IPAM,
  MANAGER_SETTINGS,
  NAMES,
  PORTS,
  SANDBOXES,
  STATE_STORE,
} from './tokens.js';

/**
 * Registers one driver (or firewall backend) in the container of a netmode
 * instance: what each driver package's `registerXDriver` function is,
 * partially applied.
 */
export type DriverRegistration = (container: DependencyContainer) => void;

/** The state directory used when neither `stateDir` nor `store` is given. */
export const DEFAULT_STATE_DIR = '/var/lib/netmode';

/** Options of {@link createNetMode}. */
export interface NetModeOptions {
  /**
   * The drivers to register, for example
   * `[registerNoneDriver, registerHostDriver, (c) => registerBridgeDriver(c, { mtu: 1400 })]`.
   */
  readonly drivers: readonly DriverRegistration[];
  /**
   * The namespace that plays the host: where bridges, host-side interfaces and
   * firewall rules go, and what `host` mode joins. Default: the namespace the
   * process runs in. Tests and nested runtimes point it at a named namespace.
   */
  readonly hostNetns?: NetnsRef;
  /** Where the default file store keeps its JSON records. Default `/var/lib/netmode`. */
  readonly stateDir?: string;
  /** A state store to use instead of the file store under `stateDir`. */
  readonly store?: StateStore;
  /** A command runner to use instead of the default one (execa, one process per command). */
  readonly runner?: CommandRunner;
  /**
   * How the default runner starts commands: `direct` (default) starts each
   * from this process; `helper` starts each through one long-lived, small
   * helper process ({@link HelperRunner}), whose cost does not grow with
   * this process's heap (a process start from a Node process with 2 GiB
   * resident costs 60–80 ms; from the helper, a few). Ignored with `runner`.
   */
  readonly processes?: 'direct' | 'helper';
  /** Address pools for networks created without a subnet. Default: Docker's. */
  readonly pools?: readonly AddressPool[];
  /**
   * Prefix of every sandbox namespace and interface name netmode makes, so
   * they can be recognised and traced to netmode: 1 to 5 lower-case letters,
   * digits or `-` (interface names have 15 characters; at least 9 are left
   * for hash digits). Default `nm-`. Use one state store per host namespace
   * and prefix: two instances with the same prefix on one host namespace but
   * different stores would compute the same names.
   */
  readonly namePrefix?: string;
  /**
   * The host's `resolv.conf`: where containers' resolvers come from (loopback
   * ones removed; systemd-resolved's upstream file when this is its stub),
   * and where the embedded DNS server forwards. Default `/etc/resolv.conf`.
   * Tests and nested runtimes whose `hostNetns` has resolvers of its own
   * point it at a file naming those.
   */
  readonly hostResolvConf?: string;
  /** The host's `hosts` file, which `host`-mode containers get. Default `/etc/hosts`. */
  readonly hostHosts?: string;
  /**
   * How long the embedded DNS server waits for one upstream resolver before
   * it tries the next (and answers SERVFAIL after the last), in
   * milliseconds. Default 2 000.
   */
  readonly dnsUpstreamTimeoutMs?: number;
  /**
   * Changes to the sysctls netmode writes in every sandbox it makes (bridge,
   * none and other drivers that make a namespace; not a namespace the
   * runtime passes as `netns`, nor `host` or `container:`): by default
   * Docker's, {@link SANDBOX_SYSCTLS} (`net.ipv4.ip_unprivileged_port_start=0`,
   * `net.ipv4.ping_group_range=0 2147483647`, IPv6 off). A value adds or
   * replaces one; `null` leaves that one as the kernel makes it, for
   * example `{ 'net.ipv6.conf.all.disable_ipv6': null, 'net.ipv6.conf.default.disable_ipv6': null }`.
   */
  readonly sandboxSysctls?: Readonly<Record<string, string | null>>;
  /**
   * Whether every published host port is kept bound in the host namespace
   * (by the companion process of the state directory), as Docker keeps
   * them: a port a host process has is refused with `ERR_PORT_ALLOCATED`
   * naming it, and no host process can take a published port. Default
   * true; needs a state directory (a custom `store` without `stateDir`
   * holds nothing). The bridge driver's `userlandProxy` runs in the holder,
   * so it needs this too.
   */
  readonly holdHostPorts?: boolean;
  /** Milliseconds after which a command is killed. Default 30 000. */
  readonly commandTimeoutMs?: number;
  /** Milliseconds to wait for the state lock before ERR_LOCK_TIMEOUT. Default 30 000. */
  readonly lockTimeoutMs?: number;
  /**
   * The firewall backend every driver uses (unless a driver's own option
   * names another): `nftables` (default), `iptables`, `none`, or the name
   * of a backend registered through {@link NetModeOptions.firewalls}.
   */
  readonly firewall?: string;
  /**
   * Registration functions of third-party firewall backends, each calling
   * `registerFirewallBackend(container, { name, description, create })`;
   * select one with {@link NetModeOptions.firewall}.
   */
  readonly firewalls?: readonly DriverRegistration[];
  /**
   * Called with the instance's container after netmode's own services are
   * registered and before the drivers are: a place to replace a service by
   * registering another value under its token.
   */
  readonly configure?: (container: DependencyContainer) => void;
}

/**
 * Creates a netmode instance: a tsyringe child container (tsyringe's global
 * container is never written to) holding the runner, store, IPAM, sandbox
 * service and events, with every given driver registered, and returns its
 * {@link NetworkManager}.
 *
 * @example
 * ```ts
 * import { createNetMode } from '@netmode/core';
 * import { registerNoneDriver } from '@netmode/driver-none';
 * import { registerHostDriver } from '@netmode/driver-host';
 *
 * const netmode = createNetMode({ drivers: [registerNoneDriver, registerHostDriver] });
 * const endpoint = await netmode.connect('web', 'none');
 * // start the container's process in endpoint.netns, then:
 * await netmode.disconnect('web');
 * ```
 *
 * @throws ERR_INVALID_CONFIG for malformed options or no drivers.
 */
export function createNetMode(options: NetModeOptions): NetworkManager {
  if (!Array.isArray(options.drivers) || options.drivers.length === 0) {
    throw invalidConfig('drivers', 'register at least one driver, for example registerNoneDriver from @netmode/driver-none');
  }
  const hostNetns = options.hostNetns ?? HOST_NETNS;
  validateNetnsRef(hostNetns, 'hostNetns');
  const namePrefix = options.namePrefix ?? 'nm-';
  if (typeof namePrefix !== 'string' || !/^[a-z0-9][a-z0-9-]{0,4}$/.test(namePrefix)) {
    throw invalidConfig('namePrefix', `${JSON.stringify(namePrefix)} must be 1 to 5 lower-case letters, digits or '-'`);
  }

  const processes = options.processes ?? 'direct';
  if (processes !== 'direct' && processes !== 'helper') {
    throw invalidConfig('processes', `${JSON.stringify(processes)} must be 'direct' or 'helper'`);
  }

  const sandboxSysctls = resolveSandboxSysctls(options.sandboxSysctls ?? {});
  const container = globalContainer.createChildContainer();
  const events = new NetModeEmitter();
  const settings: ManagerSettings = { hostNetns, namePrefix };
  container.register(EVENTS, { useValue: events });
  container.register(MANAGER_SETTINGS, { useValue: settings });
  container.register(COMMAND_RUNNER, {
    useValue: options.runner ?? defaultRunner(processes, { timeoutMs: options.commandTimeoutMs, events }),
  });
  container.register(STATE_STORE, {
    useValue: options.store ?? new FileStateStore(options.stateDir ?? DEFAULT_STATE_DIR, { lockTimeoutMs: options.lockTimeoutMs }),
  });
  const names: NameServiceSettings = {
    // Files and the companion need a directory: a custom store without `stateDir` has none.
    stateDir: options.stateDir !== undefined ? resolve(options.stateDir) : options.store ? undefined : DEFAULT_STATE_DIR,
    hostNetns,
    hostResolvConf: pathOption(options.hostResolvConf, 'hostResolvConf', '/etc/resolv.conf'),
    hostHosts: pathOption(options.hostHosts, 'hostHosts', '/etc/hosts'),
    dnsPort: 53,
    upstreamTimeoutMs: positiveOption(options.dnsUpstreamTimeoutMs, 'dnsUpstreamTimeoutMs', 2_000),
  };
  container.register(NAMES, {
    useFactory: instanceCachingFactory((c) => new NameService(names, c.resolve<StateStore>(STATE_STORE), events)),
  });
  // Factories, so a service replaced in `configure` is what the others use.
  container.register(IPAM, {
    useFactory: instanceCachingFactory((c) => {
      const runner = c.resolve<CommandRunner>(COMMAND_RUNNER);
      return new StoreIpam(c.resolve<StateStore>(STATE_STORE), {
        ...(options.pools ? { pools: options.pools } : {}),
        hostRoutes: () => readHostRoutes(runner, hostNetns),
      });
    }),
  });
  const holdHostPorts = options.holdHostPorts ?? true;
  if (typeof holdHostPorts !== 'boolean')
    throw invalidConfig('holdHostPorts', `must be true or false, not ${JSON.stringify(holdHostPorts)}`);
  container.register(PORTS, {
    useFactory: instanceCachingFactory((c) => {
      const runner = c.resolve<CommandRunner>(COMMAND_RUNNER);
      let range: Promise<readonly [number, number]> | undefined;
      return new StorePortAllocator(c.resolve<StateStore>(STATE_STORE), {
        // The host's range does not change under us; read it once.
        ephemeralRange: () => (range ??= readEphemeralPortRange(runner, hostNetns)),
        ...(holdHostPorts && names.stateDir !== undefined
          ? { holder: new CompanionPortHolder(c.resolve<NameService>(NAMES)) }
          : { markUnheld: !holdHostPorts }),
      });
    }),
  });
  container.register(SANDBOXES, {
    useFactory: instanceCachingFactory((c) => new NetnsSandboxService(c.resolve<CommandRunner>(COMMAND_RUNNER), events, sandboxSysctls)),
  });
  for (const backend of BUILTIN_FIREWALL_BACKENDS) registerFirewallBackend(container, backend);
  container.register(FIREWALL_REGISTRY, {
    useFactory: instanceCachingFactory((c) => new FirewallRegistry(c.resolveAll<FirewallBackend>(FIREWALL_BACKEND))),
  });
  container.register(FIREWALL, {
    useFactory: instanceCachingFactory((c) => c.resolve<FirewallRegistry>(FIREWALL_REGISTRY).get(options.firewall ?? DEFAULT_FIREWALL)),
  });
  for (const register of options.firewalls ?? []) register(container);
  options.configure?.(container);
  try {
    // An unknown backend name fails here, before anything is used.
    container.resolve(FIREWALL);
    for (const register of options.drivers) register(container);
    return container.resolve(NetworkManager);
  } catch (error) {
    throw duplicateTsyringe(error) ?? error;
  }
}

/**
 * ERR_DUPLICATE_TSYRINGE when `error` is tsyringe failing to build a class
 * because another copy of tsyringe decorated it, else `undefined`. tsyringe
 * keeps the parameters of every `@injectable()` class in its module's state,
 * so a class decorated by one copy is unknown to another copy's container.
 * tsyringe's error has no class or code: its message is the only signal, and
 * it counts only when a second copy is really loaded.
 */
function duplicateTsyringe(error: unknown): NetModeError | undefined {
  if (!(error instanceof Error) || !/TypeInfo not known for/.test(error.message)) return undefined;
  const copies = loadedTsyringeCopies();
  if (copies.length < 2) return undefined;
  return new NetModeError(
    ErrorCode.DUPLICATE_TSYRINGE,
    `tsyringe is loaded ${copies.length} times (${copies.join(', ')}), and a class decorated by one copy is unknown to the container of another: ${error.message}`,
    { cause: error, context: { copies } },
  );
}

/**
 * The directories of the tsyringe copies loaded in this process. tsyringe's
 * package has no `exports` map and no `type`, so Node loads its CommonJS
 * build from `import` and `require` alike, and every copy is in the
 * CommonJS module cache under its own path.
 */
function loadedTsyringeCopies(): string[] {
  const copies = new Set<string>();
  for (const file of Object.keys(createRequire(import.meta.url).cache)) {
    const copy = /^(.*[\\/]node_modules[\\/]tsyringe)[\\/]/.exec(file)?.[1];
    if (copy !== undefined) copies.add(copy);
  }
  return [...copies].sort();
}

function pathOption(value: unknown, field: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !value.startsWith('/')) throw invalidConfig(field, `${JSON.stringify(value)} must be an absolute path`);
  return value;
}

function positiveOption(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw invalidConfig(field, `${JSON.stringify(value)} must be a whole number of milliseconds, at least 1`);
  return value;
}

function defaultRunner(processes: 'direct' | 'helper', options: ExecaRunnerOptions): CommandRunner {
  return processes === 'helper' ? new HelperRunner(options) : new ExecaRunner(options);
}
