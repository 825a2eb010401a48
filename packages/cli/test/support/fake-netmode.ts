import {
  ErrorCode,
  MemoryStateStore,
  NetModeError,
  type ConnectOptions,
  type Endpoint,
  type NetworkRecord,
  type Sandbox,
} from '@netmode/core';
import { ContainerStore } from '../../src/containers/container-store.js';
import type { Session } from '../../src/session.js';
import { captureOutput } from './capture.js';

/** A network the fake knows: its addresses are PREFIX.2, PREFIX.3, … and its gateway PREFIX.1. */
export interface FakeNetwork {
  readonly prefix: string;
  readonly internal?: boolean;
}

// Modes whose endpoint is a whole sandbox: no other network beside them.
const WHOLE_SANDBOX = (network: string) => network === 'host' || network === 'none' || network.startsWith('container:');

/**
 * The part of the SDK's `NetworkManager` the CLI's container commands use,
 * in memory, with the semantics of a container on several networks: one
 * sandbox per container, one endpoint per network, `ethN` in order, the
 * default route through the highest gateway priority (ties: the first
 * connected). Every call is recorded in `calls`.
 */
export class FakeNetMode {
  readonly calls: string[] = [];
  /** Errors to throw at the next connect to a network, by name. */
  readonly failConnect = new Map<string, NetModeError>();
  readonly #sandboxes = new Map<string, Endpoint[]>();
  readonly #networks: Readonly<Record<string, FakeNetwork>>;
  readonly #netns: string;
  #next = 2;

  /** `netns`: the path every sandbox reports, one that exists unless a test wants a vanished one. */
  constructor(networks: Readonly<Record<string, FakeNetwork>>, netns = '/proc/self/ns/net') {
    this.#networks = networks;
    this.#netns = netns;
  }

  async connect(containerId: string, network: string, options: ConnectOptions = {}): Promise<Endpoint> {
    this.calls.push(`connect ${containerId} ${network} ${JSON.stringify(options)}`);
    const failure = this.failConnect.get(network);
    if (failure) throw failure;
    const known = this.#networks[network];
    if (!known && !WHOLE_SANDBOX(network)) throw new NetModeError(ErrorCode.NETWORK_NOT_FOUND, `network ${network} not found`);
    const endpoints = this.#sandboxes.get(containerId) ?? [];
    if (endpoints.some((e) => e.network === network)) {
      throw new NetModeError(ErrorCode.ENDPOINT_EXISTS, `container ${containerId} is already on network ${network}`);
    }
    if (endpoints.length > 0 && (WHOLE_SANDBOX(network) || endpoints.some((e) => WHOLE_SANDBOX(e.network)))) {
      throw new NetModeError(ErrorCode.INVALID_CONFIG, `mode: ${network} is a whole sandbox`);
    }
    const index = endpoints.length;
    const host = this.#next++;
    const endpoint: Endpoint = {
      id: `${containerId}@${network}`,
      containerId,
      network,
      networkId: `id-${network}`,
      driver: known ? 'bridge' : network,
      netns: { kind: 'path', path: this.#netns },
      ownsNetns: index === 0,
      gwPriority: options.gwPriority ?? 0,
      defaultRoute: false,
      aliases: [...(options.aliases ?? [])],
      names: {},
      interfaces: known ? [{ name: `eth${index}`, side: 'sandbox' }] : [],
      addresses: known ? [`${options.ip ?? `${known.prefix}.${host}`}/24`] : [],
      gateways: known && !known.internal ? [`${known.prefix}.1`] : [],
      ports: (options.ports ?? []).map((p) => ({ ...p, hostPort: p.hostPort ?? 32768 + host, count: p.count ?? 1 })),
      status: 'attached',
      labels: {},
      driverData: {},
      createdAt: '2026-01-01T00:00:00.000Z',
    };
    this.#sandboxes.set(containerId, [...endpoints, endpoint]);
    return endpoint;
  }

  async disconnect(containerId: string, network?: string): Promise<void> {
    this.calls.push(`disconnect ${containerId}${network === undefined ? '' : ` ${network}`}`);
    const endpoints = this.#sandboxes.get(containerId) ?? [];
    if (network === undefined) {
      this.#sandboxes.delete(containerId);
      return;
    }
    if (!endpoints.some((e) => e.network === network)) {
      throw new NetModeError(ErrorCode.ENDPOINT_NOT_FOUND, `container ${containerId} is not on network ${network}`);
    }
    const rest = endpoints.filter((e) => e.network !== network);
    if (rest.length === 0) this.#sandboxes.delete(containerId);
    else this.#sandboxes.set(containerId, rest);
  }

  async inspect(containerId: string): Promise<Sandbox> {
    const stored = this.#sandboxes.get(containerId);
    if (!stored) throw new NetModeError(ErrorCode.ENDPOINT_NOT_FOUND, `no endpoint for container ${containerId}`);
    const route = [...stored].filter((e) => e.gateways.length > 0).sort((a, b) => b.gwPriority - a.gwPriority)[0];
    const endpoints = stored.map((e) => ({ ...e, defaultRoute: e === route }));
    const [first] = endpoints as [Endpoint];
    return {
      containerId,
      netns: first.netns,
      joiners: [],
      hostname: containerId.slice(0, 12),
      endpoints,
      ...(route
        ? {
            defaultRoute: {
              endpointId: route.id,
              network: route.network,
              gateway: route.gateways[0] as string,
              ifname: route.interfaces[0]?.name as string,
            },
          }
        : {}),
    };
  }

  async inspectNetwork(name: string): Promise<NetworkRecord> {
    const known = this.#networks[name];
    if (!known) throw new NetModeError(ErrorCode.NETWORK_NOT_FOUND, `network ${name} not found`);
    return {
      id: `id-${name}`,
      name,
      driver: 'bridge',
      subnets: [{ subnet: `${known.prefix}.0/24`, gateway: `${known.prefix}.1` }],
      internal: known.internal ?? false,
      dns: false,
      predefined: false,
      options: {},
      labels: {},
      driverData: {},
      status: 'ready',
      createdAt: '2026-01-01T00:00:00.000Z',
    };
  }
}

/** A session on a fake SDK and an in-memory store, with its output captured. */
export function fakeSession(netmode: FakeNetMode, stateDir: string): { session: Session; stdout: () => string; stderr: () => string } {
  const { out, stdout, stderr } = captureOutput();
  const store = new MemoryStateStore();
  const session = { globals: { stateDir, debug: false }, out, store, containers: new ContainerStore(store), netmode };
  return { session: session as unknown as Session, stdout, stderr };
}
