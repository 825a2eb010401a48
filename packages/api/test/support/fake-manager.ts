import { randomBytes } from 'node:crypto';
import {
  ErrorCode,
  NetModeEmitter,
  NetModeError,
  type ConnectOptions,
  type Endpoint,
  type NetworkManager,
  type NetworkRecord,
  type NetworkSpec,
} from '@netmode/core';

/** Every call the fake received, in order. */
export type Call = [method: string, ...args: unknown[]];

/**
 * A NetworkManager stand-in for the unit tests: networks and endpoints in
 * memory, the manager's errors for the common refusals, every call recorded
 * so a test can show that a refused request reached nothing.
 */
export function fakeManager(): { netmode: NetworkManager; calls: Call[]; events: NetModeEmitter } {
  const events = new NetModeEmitter();
  const calls: Call[] = [];
  const networks = new Map<string, NetworkRecord>();
  const endpoints: Endpoint[] = [];
  const predefined = (name: string, driver: string): NetworkRecord => ({
    id: `${name === 'bridge' ? 'b' : name === 'host' ? 'c' : 'd'}${'0'.repeat(63)}`,
    name,
    driver,
    status: 'ready',
    predefined: true,
    subnets: name === 'bridge' ? [{ subnet: '172.17.0.0/16', gateway: '172.17.0.1' }] : [],
    internal: false,
    dns: false,
    options: name === 'bridge' ? { bridge: 'netmode0', mtu: 1500 } : {},
    labels: {},
    driverData: {},
    createdAt: new Date(0).toISOString(),
  });
  for (const [n, d] of [
    ['bridge', 'bridge'],
    ['host', 'host'],
    ['none', 'none'],
  ]) {
    networks.set(n as string, predefined(n as string, d as string));
  }
  const record = (name: string) => {
    const n = networks.get(name);
    if (!n) throw new NetModeError(ErrorCode.NETWORK_NOT_FOUND, `network ${name} not found`);
    return n;
  };
  const manager = {
    events,
    drivers: ['bridge', 'host', 'none'],
    hostNetns: { kind: 'named', name: 'fakehost' },
    async listNetworks() {
      calls.push(['listNetworks']);
      return [...networks.values()].sort((a, b) => a.name.localeCompare(b.name));
    },
    async inspectNetwork(name: string) {
      calls.push(['inspectNetwork', name]);
      return record(name);
    },
    async createNetwork(spec: NetworkSpec) {
      calls.push(['createNetwork', spec]);
      if (networks.has(spec.name)) throw new NetModeError(ErrorCode.NETWORK_EXISTS, `network ${spec.name} already exists`);
      if (spec.driver !== 'bridge') throw new NetModeError(ErrorCode.DRIVER_NOT_FOUND, `no driver ${spec.driver}`);
      const network: NetworkRecord = {
        id: randomBytes(32).toString('hex'),
        name: spec.name,
        driver: spec.driver,
        status: 'ready',
        predefined: false,
        subnets: spec.subnets ? [...spec.subnets] : [{ subnet: '172.18.0.0/16', gateway: '172.18.0.1' }],
        internal: spec.internal ?? false,
        dns: true,
        options: { ...spec.options },
        labels: { ...spec.labels },
        driverData: {},
        createdAt: new Date().toISOString(),
      };
      networks.set(spec.name, network);
      events.emit('network:created', { network, durationMs: 1 });
      return network;
    },
    async removeNetwork(name: string) {
      calls.push(['removeNetwork', name]);
      const n = networks.get(name);
      if (!n) return;
      if (n.predefined) throw new NetModeError(ErrorCode.NETWORK_IN_USE, `${name} is a predefined network and cannot be removed`);
      if (endpoints.some((e) => e.networkId === n.id)) throw new NetModeError(ErrorCode.NETWORK_IN_USE, `network ${name} has endpoints`);
      networks.delete(name);
      events.emit('network:removed', { network: n, durationMs: 1 });
    },
    async connect(containerId: string, mode: string, options: ConnectOptions = {}) {
      calls.push(['connect', containerId, mode, options]);
      const n = record(mode);
      if (endpoints.some((e) => e.containerId === containerId && e.networkId === n.id)) {
        throw new NetModeError(ErrorCode.ENDPOINT_EXISTS, `container ${containerId} is already on network ${mode}`);
      }
      const endpoint: Endpoint = {
        id: `${containerId}@${n.id.slice(0, 12)}`,
        containerId,
        network: n.name,
        networkId: n.id,
        driver: n.driver,
        netns: options.netns ?? { kind: 'named', name: `fake-${containerId}` },
        ownsNetns: true,
        gwPriority: 0,
        defaultRoute: true,
        aliases: options.aliases ?? [],
        names: {},
        interfaces: [{ name: 'eth0', side: 'sandbox', mac: options.mac ?? '02:42:ac:12:00:02' }],
        addresses: [`${options.ip ?? '172.18.0.2'}/16`],
        gateways: ['172.18.0.1'],
        ports: [],
        status: 'attached',
        labels: {},
        driverData: {},
        createdAt: new Date().toISOString(),
      };
      endpoints.push(endpoint);
      events.emit('endpoint:attached', { endpoint, durationMs: 1 });
      return endpoint;
    },
    async disconnect(containerId: string, network?: string) {
      calls.push(['disconnect', containerId, network]);
      const index = endpoints.findIndex((e) => e.containerId === containerId && (network === undefined || e.network === network));
      if (index < 0) {
        if (network === undefined) return;
        throw new NetModeError(ErrorCode.ENDPOINT_NOT_FOUND, `container ${containerId} is not on network ${network}`);
      }
      const [endpoint] = endpoints.splice(index, 1);
      events.emit('endpoint:detached', { endpoint: endpoint as Endpoint, durationMs: 1 });
    },
    async list() {
      calls.push(['list']);
      return [...endpoints];
    },
    async inspect(containerId: string) {
      calls.push(['inspect', containerId]);
      const mine = endpoints.filter((e) => e.containerId === containerId);
      if (mine.length === 0) throw new NetModeError(ErrorCode.ENDPOINT_NOT_FOUND, `container ${containerId} has no endpoint`);
      return { containerId, netns: (mine[0] as Endpoint).netns, joiners: [], hostname: containerId, endpoints: mine };
    },
    async inspectEndpoint(containerId: string, network?: string) {
      calls.push(['inspectEndpoint', containerId, network]);
      const e = endpoints.find((x) => x.containerId === containerId && (network === undefined || x.network === network));
      if (!e) throw new NetModeError(ErrorCode.ENDPOINT_NOT_FOUND, `container ${containerId} has no endpoint`);
      return e;
    },
    async nameFiles(containerId: string) {
      calls.push(['nameFiles', containerId]);
      return { hostname: `${containerId}\n`, hosts: '127.0.0.1 localhost\n' };
    },
    async check(containerId: string, network?: string) {
      calls.push(['check', containerId, network]);
      return { ok: true, problems: [] };
    },
    async reconcile() {
      calls.push(['reconcile']);
      return { finished: [], lost: [], broken: [], repaired: [], restoredLeases: 0, releasedLeases: 0, failures: [] };
    },
    async gc(ids: readonly string[], options: { listedAt?: Date } = {}) {
      calls.push(['gc', ids, options]);
      return { disconnected: [], removedObjects: [], releasedLeases: 0, failures: [] };
    },
  };
  return { netmode: manager as unknown as NetworkManager, calls, events };
}
