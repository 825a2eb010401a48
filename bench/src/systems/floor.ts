import { IP, inNetns, netnsFile, type Namespaces } from '../namespaces.js';
import { mustRun } from '../proc.js';
import { AddressBook, GATEWAY, PREFIX_LENGTH, SECOND_GATEWAY } from './addresses.js';
import { emptyTrace, step, type EndpointSystem, type OpTrace, type SecondNetwork } from './system.js';

const NFT = '/usr/sbin/nft';
const BRIDGE = 'fbr0';
const SECOND_BRIDGE = 'fbr1';

/** A DNAT map the floor's published ports go into: one element per port, like netmode's nftables design. */
export const FLOOR_TABLE = `table ip floor {
  map ports { type inet_service : ipv4_addr . inet_service; }
  chain pre { type nat hook prerouting priority dstnat; policy accept; fib daddr type local dnat ip to tcp dport map @ports; }
  chain out { type nat hook output priority -100; policy accept; fib daddr type local dnat ip to tcp dport map @ports; }
}
`;

/**
 * The kernel floor: the same kernel work as a bridge endpoint with bare
 * iproute2 and nothing else, the peer born in the namespace. Attach is
 * `ip netns add`, one host-side batch (the veth pair, host end on the bridge,
 * hairpin on, as netmode sets it) and one in-namespace batch (lo, address,
 * eth0 up, default route); detach is `ip netns delete`, which returns at once
 * while the kernel removes the pair. With a port, one `nft -f -` adds (and
 * removes) one element of a prepared DNAT map: no state, no checks, no
 * bookkeeping.
 */
export class FloorSystem implements EndpointSystem {
  readonly key = 'floor';
  readonly label = 'floor: bare ip -batch (+1 nft element)';
  readonly #addresses = new AddressBook();
  readonly #ports = new Map<string, number>();
  #next = 0;
  readonly #sandboxes = new Map<string, string>();

  private constructor(
    readonly host: string,
    private readonly ns: Namespaces,
  ) {}

  static async create(ns: Namespaces): Promise<FloorSystem> {
    const host = await ns.createHost('h-floor');
    await mustRun(inNetns(host, [IP, '-batch', '-']), {
      input: `link add ${BRIDGE} type bridge\naddress add ${GATEWAY}/${PREFIX_LENGTH} dev ${BRIDGE}\nlink set dev ${BRIDGE} up\n`,
    });
    await mustRun(inNetns(host, [NFT, '-f', '-']), { input: FLOOR_TABLE });
    return new FloorSystem(host, ns);
  }

  async attach(name: string, hostPort?: number): Promise<OpTrace> {
    const trace = emptyTrace();
    const netns = this.ns.name(`c-fl-${name}`);
    // A fresh host-side name each time: a deleted namespace's pair lingers ~0.1 s.
    const veth = `fv${(this.#next++).toString(36)}`;
    const address = this.#addresses.take(name);
    await step(trace, 'ip netns add', () => mustRun([IP, 'netns', 'add', netns]));
    await step(trace, 'ip -batch @host (veth, peer born in netns)', () =>
      mustRun(inNetns(this.host, [IP, '-batch', '-']), {
        input:
          `link add ${veth} mtu 1500 master ${BRIDGE} up type veth peer name eth0 mtu 1500 netns ${netnsFile(netns)}\n` +
          `link set dev ${veth} type bridge_slave hairpin on\n`,
      }),
    );
    await step(trace, 'ip -batch @sandbox (lo, addr, up, route)', () =>
      mustRun(inNetns(netns, [IP, '-batch', '-']), {
        input:
          `link set dev lo up\naddress add ${address}/${PREFIX_LENGTH} dev eth0\nlink set dev eth0 up\n` +
          `route add default via ${GATEWAY} dev eth0\n`,
      }),
    );
    if (hostPort !== undefined) {
      await step(trace, 'nft -f [add element] @host', () =>
        mustRun(inNetns(this.host, [NFT, '-f', '-']), { input: `add element ip floor ports { ${hostPort} : ${address} . 80 }\n` }),
      );
      this.#ports.set(name, hostPort);
    }
    this.#sandboxes.set(name, netns);
    return trace;
  }

  async detach(name: string): Promise<OpTrace> {
    const trace = emptyTrace();
    const netns = this.#sandboxes.get(name);
    if (netns === undefined) return trace;
    const port = this.#ports.get(name);
    if (port !== undefined) {
      await step(trace, 'nft -f [delete element] @host', () =>
        mustRun(inNetns(this.host, [NFT, '-f', '-']), { input: `delete element ip floor ports { ${port} }\n` }),
      );
      this.#ports.delete(name);
    }
    await step(trace, 'ip netns delete', () => mustRun([IP, 'netns', 'delete', netns]));
    this.#sandboxes.delete(name);
    this.#addresses.release(name);
    return trace;
  }

  async close(): Promise<void> {
    this.#sandboxes.clear();
  }

  /**
   * The same kernel work for a second network: one host-side batch (a veth
   * on bridge `fbr1`, its peer born in the running namespace as eth1,
   * hairpin on) and one in-namespace batch (address, eth1 up; no route).
   * Disconnecting deletes the host end synchronously (the namespace stays,
   * so there is no faster way to remove the pair).
   */
  async secondNetwork(): Promise<SecondNetwork> {
    await mustRun(inNetns(this.host, [IP, '-batch', '-']), {
      input: `link add ${SECOND_BRIDGE} type bridge\naddress add ${SECOND_GATEWAY}/${PREFIX_LENGTH} dev ${SECOND_BRIDGE}\nlink set dev ${SECOND_BRIDGE} up\n`,
    });
    const addresses = new AddressBook(235);
    const veths = new Map<string, string>();
    const sandbox = (name: string) => {
      const found = this.#sandboxes.get(name);
      if (found === undefined) throw new Error(`floor: container ${name} is not attached`);
      return found;
    };
    return {
      label: 'bare ip -batch: veth + eth1 / ip link del',
      netnsPath: async (name) => netnsFile(sandbox(name)),
      connect: async (name) => {
        const netns = sandbox(name);
        const trace = emptyTrace();
        const veth = `fw${(this.#next++).toString(36)}`;
        const address = addresses.take(name);
        veths.set(name, veth);
        await step(trace, 'ip -batch @host (veth, peer eth1 born in netns)', () =>
          mustRun(inNetns(this.host, [IP, '-batch', '-']), {
            input:
              `link add ${veth} mtu 1500 master ${SECOND_BRIDGE} up type veth peer name eth1 mtu 1500 netns ${netnsFile(netns)}\n` +
              `link set dev ${veth} type bridge_slave hairpin on\n`,
          }),
        );
        await step(trace, 'ip -batch @sandbox (addr, eth1 up)', () =>
          mustRun(inNetns(netns, [IP, '-batch', '-']), {
            input: `address add ${address}/${PREFIX_LENGTH} dev eth1\nlink set dev eth1 up\n`,
          }),
        );
        return trace;
      },
      disconnect: async (name) => {
        const trace = emptyTrace();
        const veth = veths.get(name);
        if (veth === undefined) return trace;
        try {
          await step(trace, 'ip link del @host', () => mustRun(inNetns(this.host, [IP, 'link', 'del', veth])));
        } finally {
          veths.delete(name);
          addresses.release(name);
        }
        return trace;
      },
    };
  }
}
