import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { IP, inNetns, netnsFile, type Namespaces } from '../namespaces.js';
import { PLAIN_ENV, mustRun } from '../proc.js';
import { GATEWAY, SECOND_GATEWAY, SECOND_SUBNET, SUBNET } from './addresses.js';
import { emptyTrace, step, type EndpointSystem, type OpTrace, type SecondNetwork } from './system.js';

export const CNI_DIR = '/usr/lib/cni';

interface CniEndpoint {
  readonly netns: string;
  readonly containerId: string;
  /** The portmap config (with the bridge's result as prevResult), when a port was published. */
  readonly portmap: string | undefined;
  readonly bridgeResult: unknown;
}

/**
 * The CNI reference plugins as a runtime chains them (../shared/PEERS.md):
 * loopback, then bridge with host-local IPAM, then portmap; DEL in reverse.
 * Each plugin is one process run in the throwaway host namespace with
 * `nsenter --net=` (what netmode's runner does too; `ip netns exec` would be
 * slower and remount /sys), configs on standard input, state in a temp dir.
 */
export class CniSystem implements EndpointSystem {
  readonly key = 'cni';
  readonly label = 'CNI loopback+bridge+host-local(+portmap)';
  readonly #endpoints = new Map<string, CniEndpoint>();

  private constructor(
    readonly host: string,
    private readonly ns: Namespaces,
    private readonly bridgeConfig: string,
    private readonly dataDir: string,
  ) {}

  static async create(ns: Namespaces, tmp: string): Promise<CniSystem> {
    const host = await ns.createHost('h-cni');
    const dataDir = join(tmp, 'cni-ipam');
    await mkdir(dataDir, { recursive: true });
    const bridgeConfig = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'bench',
      type: 'bridge',
      bridge: 'cni0',
      isGateway: true,
      ipMasq: true,
      hairpinMode: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET, gateway: GATEWAY }]], routes: [{ dst: '0.0.0.0/0' }], dataDir },
    });
    return new CniSystem(host, ns, bridgeConfig, dataDir);
  }

  async attach(name: string, hostPort?: number): Promise<OpTrace> {
    const trace = emptyTrace();
    const netns = this.ns.name(`c-cni-${name}`);
    const containerId = `bench-${netns}`;
    await step(trace, 'ip netns add', () => mustRun([IP, 'netns', 'add', netns]));
    await step(trace, 'cni loopback ADD', () => this.#plugin('loopback', 'ADD', netns, containerId, 'lo', LOOPBACK));
    const bridge = await step(trace, 'cni bridge ADD', () => this.#plugin('bridge', 'ADD', netns, containerId, 'eth0', this.bridgeConfig));
    const bridgeResult: unknown = JSON.parse(bridge.stdout);
    let portmap: string | undefined;
    if (hostPort !== undefined) {
      portmap = JSON.stringify({
        cniVersion: '1.0.0',
        name: 'bench',
        type: 'portmap',
        snat: true,
        capabilities: { portMappings: true },
        runtimeConfig: { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] },
        prevResult: bridgeResult,
      });
      const config = portmap;
      await step(trace, 'cni portmap ADD', () => this.#plugin('portmap', 'ADD', netns, containerId, 'eth0', config));
    }
    this.#endpoints.set(name, { netns, containerId, portmap, bridgeResult });
    return trace;
  }

  async detach(name: string): Promise<OpTrace> {
    const trace = emptyTrace();
    const endpoint = this.#endpoints.get(name);
    if (!endpoint) return trace;
    const { netns, containerId, portmap } = endpoint;
    if (portmap !== undefined) {
      await step(trace, 'cni portmap DEL', () => this.#plugin('portmap', 'DEL', netns, containerId, 'eth0', portmap));
    }
    await step(trace, 'cni bridge DEL', () => this.#plugin('bridge', 'DEL', netns, containerId, 'eth0', this.bridgeConfig));
    await step(trace, 'cni loopback DEL', () => this.#plugin('loopback', 'DEL', netns, containerId, 'lo', LOOPBACK));
    await step(trace, 'ip netns delete', () => mustRun([IP, 'netns', 'delete', netns]));
    this.#endpoints.delete(name);
    return trace;
  }

  async close(): Promise<void> {
    this.#endpoints.clear();
  }

  /**
   * A second bridge config (`cni1`, its own subnet) ADDed with
   * `CNI_IFNAME=eth1` into the running container's namespace, as a runtime
   * adds a second network; DEL of the same. No `routes` in its IPAM: the
   * default route stays with eth0 (a duplicate default route would fail the ADD).
   */
  async secondNetwork(): Promise<SecondNetwork> {
    const config = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'bench2',
      type: 'bridge',
      bridge: 'cni1',
      isGateway: true,
      ipMasq: true,
      hairpinMode: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: SECOND_SUBNET, gateway: SECOND_GATEWAY }]], dataDir: this.dataDir },
    });
    const endpoint = (name: string) => {
      const found = this.#endpoints.get(name);
      if (!found) throw new Error(`CNI: container ${name} is not attached`);
      return found;
    };
    return {
      label: 'CNI bridge ADD / DEL, CNI_IFNAME=eth1',
      netnsPath: async (name) => netnsFile(endpoint(name).netns),
      connect: async (name) => {
        const { netns, containerId } = endpoint(name);
        const trace = emptyTrace();
        await step(trace, 'cni bridge ADD eth1', () => this.#plugin('bridge', 'ADD', netns, containerId, 'eth1', config));
        return trace;
      },
      disconnect: async (name) => {
        const { netns, containerId } = endpoint(name);
        const trace = emptyTrace();
        await step(trace, 'cni bridge DEL eth1', () => this.#plugin('bridge', 'DEL', netns, containerId, 'eth1', config));
        return trace;
      },
    };
  }

  #plugin(plugin: string, command: 'ADD' | 'DEL', netns: string, containerId: string, ifname: string, config: string) {
    return mustRun(inNetns(this.host, [join(CNI_DIR, plugin)]), {
      input: config,
      env: {
        ...PLAIN_ENV,
        CNI_COMMAND: command,
        CNI_CONTAINERID: containerId,
        CNI_NETNS: netnsFile(netns),
        CNI_IFNAME: ifname,
        CNI_PATH: CNI_DIR,
      },
    });
  }
}

const LOOPBACK = JSON.stringify({ cniVersion: '1.0.0', name: 'lo', type: 'loopback' });
