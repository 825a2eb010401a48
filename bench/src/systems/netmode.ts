import { join } from 'node:path';
import {
  COMMAND_RUNNER,
  FileStateStore,
  createNetMode,
  namedNetns,
  netnsPath,
  type CommandRunner,
  type DriverRegistration,
  type NetworkManager,
} from '@netmode/core';
import { registerBridgeDriver } from '@netmode/driver-bridge';
import type { Namespaces } from '../namespaces.js';
import type { Profiler } from '../profiler.js';
import { GATEWAY, PREFIX_LENGTH, SECOND_GATEWAY, SECOND_SUBNET } from './addresses.js';
import type { EndpointSystem, OpTrace, SecondNetwork } from './system.js';

export interface NetmodeFlavour {
  readonly key: string;
  readonly label: string;
  readonly firewall: 'nftables' | 'iptables';
  /** The file store's fsyncs (its default, true) or none, to show what they cost. */
  readonly durable: boolean;
  /** createNetMode's `processes`: commands started from this process, or through the helper. */
  readonly processes: 'direct' | 'helper';
  /**
   * Published ports kept only as leases and rules (`none`: the store without
   * a state directory, so no companion), held by the companion (`hold`, the
   * default of a runtime that gives `stateDir`), or served by its userland
   * proxy too (`proxy`).
   */
  readonly ports: 'none' | 'hold' | 'proxy';
}

export const FLAVOURS: Readonly<Record<'nft' | 'ipt' | 'nftHelper' | 'nftNoSync' | 'nftHold' | 'nftProxy', NetmodeFlavour>> = {
  nft: { key: 'nm-nft', label: 'netmode, nftables', firewall: 'nftables', durable: true, processes: 'direct', ports: 'none' },
  ipt: { key: 'nm-ipt', label: 'netmode, iptables', firewall: 'iptables', durable: true, processes: 'direct', ports: 'none' },
  nftHelper: {
    key: 'nm-helper',
    label: "netmode, nftables, processes: 'helper'",
    firewall: 'nftables',
    durable: true,
    processes: 'helper',
    ports: 'none',
  },
  nftNoSync: {
    key: 'nm-nosync',
    label: 'netmode, nftables, store durable:false',
    firewall: 'nftables',
    durable: false,
    processes: 'direct',
    ports: 'none',
  },
  // #16: the same with the host ports held by the companion, and with its userland proxy.
  nftHold: {
    key: 'nm-hold',
    label: 'netmode, nftables, ports held (stateDir)',
    firewall: 'nftables',
    durable: true,
    processes: 'direct',
    ports: 'hold',
  },
  nftProxy: {
    key: 'nm-proxy',
    label: 'netmode, nftables, ports held, userland proxy',
    firewall: 'nftables',
    durable: true,
    processes: 'direct',
    ports: 'proxy',
  },
};

/** The flavours timed on the single-endpoint rows only (what they change is the connect with a port). */
export const SINGLE_ONLY_FLAVOURS: readonly NetmodeFlavour[] = [FLAVOURS.nftHold, FLAVOURS.nftProxy];

/** Everything a netmode instance of the benchmark needs: its own host namespace, store and profiling hooks. */
export interface NetmodeInstance {
  readonly manager: NetworkManager;
  readonly host: string;
}

/**
 * Makes a netmode instance as a runtime would (createNetMode with the
 * default execa runner and the default file store, in a temp dir), with two
 * hooks for the profile: the store is wrapped to time its calls, and the
 * runner to name its commands; the process times are the manager's own
 * `command:exec` events.
 */
export async function createNetmode(
  ns: Namespaces,
  tmp: string,
  profiler: Profiler,
  key: string,
  drivers: readonly DriverRegistration[],
  durable = true,
  processes: 'direct' | 'helper' = 'direct',
  holdPorts = false,
): Promise<NetmodeInstance> {
  const host = await ns.createHost(`h-${key}`);
  const hostNetns = namedNetns(host);
  const stateDir = join(tmp, `state-${key}`);
  const manager = createNetMode({
    drivers,
    hostNetns,
    store: profiler.timedStore(new FileStateStore(stateDir, { durable })),
    // The state directory beside the store: the companion, which holds the ports, lives there.
    ...(holdPorts ? { stateDir } : {}),
    namePrefix: ns.prefix,
    processes,
    configure: (container) => {
      const inner = container.resolve<CommandRunner>(COMMAND_RUNNER);
      container.register(COMMAND_RUNNER, { useValue: profiler.labellingRunner(inner, hostNetns) });
    },
  });
  profiler.listen(manager.events);
  return { manager, host };
}

/** netmode's bridge mode on the default network `bridge`, as a benchmark system. */
export class NetmodeSystem implements EndpointSystem {
  readonly key: string;
  readonly label: string;

  private constructor(
    private readonly instance: NetmodeInstance,
    private readonly profiler: Profiler,
    flavour: NetmodeFlavour,
  ) {
    this.key = flavour.key;
    this.label = flavour.label;
  }

  static async create(ns: Namespaces, tmp: string, profiler: Profiler, flavour: NetmodeFlavour): Promise<NetmodeSystem> {
    const bridge = (c: Parameters<DriverRegistration>[0]) =>
      registerBridgeDriver(c, {
        firewall: flavour.firewall,
        bip: `${GATEWAY}/${PREFIX_LENGTH}`,
        bridgeName: 'nmbr0',
        userlandProxy: flavour.ports === 'proxy',
      });
    const instance = await createNetmode(
      ns,
      tmp,
      profiler,
      flavour.key,
      [bridge],
      flavour.durable,
      flavour.processes,
      flavour.ports !== 'none',
    );
    return new NetmodeSystem(instance, profiler, flavour);
  }

  get manager(): NetworkManager {
    return this.instance.manager;
  }

  /** The container id: unique across the run, since sandbox names derive from it and share one prefix. */
  containerId(name: string): string {
    return `${this.key}-${name}`;
  }

  async attach(name: string, hostPort?: number): Promise<OpTrace> {
    const options = hostPort === undefined ? {} : { ports: [{ hostPort, containerPort: 80 }] };
    const { trace } = await this.profiler.trace(() => this.manager.connect(this.containerId(name), 'bridge', options));
    return trace;
  }

  async detach(name: string): Promise<OpTrace> {
    const { trace } = await this.profiler.trace(() => this.manager.disconnect(this.containerId(name)));
    return trace;
  }

  async close(): Promise<void> {
    this.manager.events.removeAllListeners();
  }

  /**
   * A user-defined bridge network `second` (created here, untimed, as
   * `docker network create` would be), connected to and disconnected from
   * with `connect(id, 'second')` and `disconnect(id, 'second')`: eth1 in the
   * sandbox the container already has; no default route (eth0 keeps it).
   */
  async secondNetwork(): Promise<SecondNetwork> {
    const network = 'second';
    await this.manager.createNetwork({ name: network, driver: 'bridge', subnets: [{ subnet: SECOND_SUBNET, gateway: SECOND_GATEWAY }] });
    const traced = async (work: () => Promise<unknown>) => (await this.profiler.trace(work)).trace;
    return {
      label: `connect(id, '${network}') / disconnect(id, '${network}')`,
      netnsPath: async (name) => netnsPath((await this.manager.inspect(this.containerId(name))).netns),
      connect: (name) => traced(() => this.manager.connect(this.containerId(name), network)),
      disconnect: (name) => traced(() => this.manager.disconnect(this.containerId(name), network)),
    };
  }
}
