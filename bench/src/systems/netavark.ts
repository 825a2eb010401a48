import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { IP, inNetns, netnsFile, type Namespaces } from '../namespaces.js';
import { mustRun } from '../proc.js';
import { AddressBook, GATEWAY, SECOND_GATEWAY, SECOND_SUBNET, SUBNET } from './addresses.js';
import { emptyTrace, step, type EndpointSystem, type OpTrace, type SecondNetwork } from './system.js';

export const NETAVARK = '/usr/lib/podman/netavark';

const hex64 = (text: string) => createHash('sha256').update(text).digest('hex');

/** One bridge network as podman describes it to netavark (`network_info`). */
function bridgeNetwork(name: string, bridge: string, subnet: string, gateway: string) {
  return {
    name,
    id: hex64(`${name}-network`),
    driver: 'bridge',
    network_interface: bridge,
    subnets: [{ subnet, gateway }],
    ipv6_enabled: false,
    internal: false,
    dns_enabled: false,
    ipam_options: { driver: 'host-local' },
  };
}

/**
 * netavark 1.4 as podman drives it (../shared/PEERS.md): one `setup` or
 * `teardown` process per container, run in the throwaway host namespace,
 * with the options on standard input. It allocates no addresses, so the
 * benchmark passes `static_ips`; its only firewall driver here is iptables.
 */
export class NetavarkSystem implements EndpointSystem {
  readonly key = 'netavark';
  readonly label = 'netavark 1.4 (iptables)';
  readonly #addresses = new AddressBook();
  readonly #endpoints = new Map<string, { netns: string; options: string }>();

  private constructor(
    readonly host: string,
    private readonly ns: Namespaces,
    private readonly configDir: string,
  ) {}

  static async create(ns: Namespaces, tmp: string): Promise<NetavarkSystem> {
    const host = await ns.createHost('h-nv');
    const configDir = join(tmp, 'netavark');
    await mkdir(configDir, { recursive: true });
    return new NetavarkSystem(host, ns, configDir);
  }

  async attach(name: string, hostPort?: number): Promise<OpTrace> {
    const trace = emptyTrace();
    const netns = this.ns.name(`c-nv-${name}`);
    const address = this.#addresses.take(name);
    const options = JSON.stringify({
      container_id: hex64(netns),
      container_name: name,
      networks: { bench: { interface_name: 'eth0', static_ips: [address] } },
      network_info: { bench: bridgeNetwork('bench', 'nv0', SUBNET, GATEWAY) },
      port_mappings: hostPort === undefined ? [] : [{ host_ip: '', container_port: 80, host_port: hostPort, range: 1, protocol: 'tcp' }],
    });
    try {
      await step(trace, 'ip netns add', () => mustRun([IP, 'netns', 'add', netns]));
      await step(trace, 'netavark setup', () => this.#run('setup', netns, options));
    } catch (error) {
      this.#addresses.release(name);
      throw error;
    }
    this.#endpoints.set(name, { netns, options });
    return trace;
  }

  async detach(name: string): Promise<OpTrace> {
    const trace = emptyTrace();
    const endpoint = this.#endpoints.get(name);
    if (!endpoint) return trace;
    await step(trace, 'netavark teardown', () => this.#run('teardown', endpoint.netns, endpoint.options));
    await step(trace, 'ip netns delete', () => mustRun([IP, 'netns', 'delete', endpoint.netns]));
    this.#endpoints.delete(name);
    this.#addresses.release(name);
    return trace;
  }

  async close(): Promise<void> {
    this.#endpoints.clear();
  }

  /**
   * podman's `network connect` of a running container: one `setup` naming
   * only the second network (bridge `nv1`, interface eth1) for the
   * container's existing namespace; `teardown` with the same options. 1.4
   * has no option to leave out the default route: it adds a second one,
   * via eth1, beside eth0's.
   */
  async secondNetwork(): Promise<SecondNetwork> {
    const addresses = new AddressBook(235);
    const info = { bench2: bridgeNetwork('bench2', 'nv1', SECOND_SUBNET, SECOND_GATEWAY) };
    const connected = new Map<string, string>();
    const endpoint = (name: string) => {
      const found = this.#endpoints.get(name);
      if (!found) throw new Error(`netavark: container ${name} is not attached`);
      return found;
    };
    const options = (name: string, address: string) =>
      JSON.stringify({
        container_id: hex64(endpoint(name).netns),
        container_name: name,
        networks: { bench2: { interface_name: 'eth1', static_ips: [address] } },
        network_info: info,
        port_mappings: [],
      });
    return {
      label: 'netavark setup / teardown of one network, eth1',
      netnsPath: async (name) => netnsFile(endpoint(name).netns),
      connect: async (name) => {
        const { netns } = endpoint(name);
        const trace = emptyTrace();
        const address = addresses.take(name);
        // Recorded first: after a failed setup, disconnect still tears down what it left.
        connected.set(name, address);
        await step(trace, 'netavark setup eth1', () => this.#run('setup', netns, options(name, address)));
        return trace;
      },
      disconnect: async (name) => {
        const { netns } = endpoint(name);
        const trace = emptyTrace();
        const address = connected.get(name);
        if (address === undefined) return trace;
        try {
          await step(trace, 'netavark teardown eth1', () => this.#run('teardown', netns, options(name, address)));
        } finally {
          connected.delete(name);
          addresses.release(name);
        }
        return trace;
      },
    };
  }

  #run(command: 'setup' | 'teardown', netns: string, options: string) {
    return mustRun(inNetns(this.host, [NETAVARK, '--config', this.configDir, command, netnsFile(netns)]), { input: options });
  }
}
