import { fileURLToPath } from 'node:url';
import { IP, inNetns, netnsFile, type Namespaces } from '../namespaces.js';
import { mustRun, startPiped, type PipedProcess } from '../proc.js';

/** The outside world's resolver: on the world namespace's `lo`, reached from each host namespace over its own link. */
export const WORLD_RESOLVER = '10.237.254.1';

/** The names network of the DNS workload, the same in each system's own host namespace. */
export const NAMES_SUBNET = '10.236.0.0/24';
export const NAMES_GATEWAY = '10.236.0.1';

const RESOLVER_SCRIPT = fileURLToPath(new URL('../dns/world-resolver.js', import.meta.url));

/**
 * The "outside world" of the DNS workload (PEERS.md's `ext`): one namespace
 * holding {@link WORLD_RESOLVER} on `lo` and a tiny resolver there
 * (`dns/world-resolver.ts`), linked to each system's host namespace by a
 * veth of its own (10.237.255.4k/30). It has no route to any container
 * subnet: only the host namespaces themselves, where the embedded servers
 * forward from, reach it.
 */
export class DnsWorld {
  #links = 0;

  private constructor(
    readonly netns: string,
    private readonly resolver: PipedProcess,
  ) {}

  static async create(ns: Namespaces): Promise<DnsWorld> {
    const netns = ns.name('world');
    await mustRun([IP, 'netns', 'add', netns]);
    await mustRun(inNetns(netns, [IP, '-batch', '-']), { input: `link set dev lo up\naddress add ${WORLD_RESOLVER}/32 dev lo\n` });
    const resolver = await startPiped(inNetns(netns, [process.execPath, RESOLVER_SCRIPT, WORLD_RESOLVER]));
    try {
      await resolver.line('ready');
    } catch (error) {
      await resolver.stop();
      throw error;
    }
    return new DnsWorld(netns, resolver);
  }

  /** Links host namespace `host` to the world and routes {@link WORLD_RESOLVER} there. */
  async link(host: string): Promise<void> {
    const k = this.#links++;
    const hostSide = `10.237.255.${4 * k + 1}`;
    const worldSide = `10.237.255.${4 * k + 2}`;
    await mustRun(inNetns(host, [IP, '-batch', '-']), {
      input:
        `link add wx${k} type veth peer name hx${k} netns ${netnsFile(this.netns)}\n` +
        `address add ${hostSide}/30 dev wx${k}\nlink set dev wx${k} up\n`,
    });
    await mustRun(inNetns(this.netns, [IP, '-batch', '-']), { input: `address add ${worldSide}/30 dev hx${k}\nlink set dev hx${k} up\n` });
    await mustRun(inNetns(host, [IP, 'route', 'add', `${WORLD_RESOLVER}/32`, 'via', worldSide]));
  }

  /** Ends the resolver by its PID (the namespace goes with the run's cleanup). */
  async close(): Promise<void> {
    await this.resolver.stop();
  }
}
