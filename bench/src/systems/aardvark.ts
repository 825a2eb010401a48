import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IP, inNetns, netnsFile, type Namespaces } from '../namespaces.js';
import { mustRun, trackDaemon, untrackDaemon } from '../proc.js';
import { NAMES_GATEWAY, WORLD_RESOLVER, type DnsWorld } from './dns-world.js';

export const AARDVARK = '/usr/lib/podman/aardvark-dns';

/** The network's name: aardvark-dns takes each file of its config directory as one network, named after the file. */
const NETWORK = 'names';
const BRIDGE = 'aa0';
/** aardvark-dns writes its PID here once it serves (`config::constants::AARDVARK_PID_FILE`). */
const PID_FILE = 'aardvark.pid';

/**
 * aardvark-dns 1.4 as netavark 1.4 drives it, on a network made with bare
 * iproute2 (the DNS workload measures the server, not the plumbing):
 * a config directory with one file per network — the first line the
 * gateway address(es), then a space and the network's DNS servers; then
 * one line per container, `ID IPV4 IPV6 NAMES` with comma-separated lists
 * and IPV6 left empty — `aardvark-dns --config DIR -p 53 run` in the host
 * namespace (it forks; the parent exits once the child serves and wrote
 * `aardvark.pid`), and SIGHUP to that PID after each change, which makes it
 * read every file again and bind its sockets anew. Its upstream is the
 * world's resolver, given as the network's DNS servers, so nothing is
 * forwarded to the machine's own resolv.conf.
 */
export class AardvarkNetwork {
  readonly #containers = new Map<string, { id: string; address: string; netns: string }>();
  #next = 0;
  #pid: number | undefined;

  private constructor(
    readonly host: string,
    private readonly ns: Namespaces,
    private readonly configDir: string,
  ) {}

  static async create(ns: Namespaces, tmp: string, world: DnsWorld): Promise<AardvarkNetwork> {
    const host = await ns.createHost('h-aa');
    await mustRun(inNetns(host, [IP, '-batch', '-']), {
      input: `link add ${BRIDGE} type bridge\naddress add ${NAMES_GATEWAY}/24 dev ${BRIDGE}\nlink set dev ${BRIDGE} up\n`,
    });
    await world.link(host);
    const configDir = join(tmp, 'aardvark-dns');
    await mkdir(configDir, { recursive: true });
    return new AardvarkNetwork(host, ns, configDir);
  }

  /** The namespace file of container `name`. */
  netnsPath(name: string): string {
    const found = this.#containers.get(name);
    if (!found) throw new Error(`aardvark: no container ${name}`);
    return netnsFile(found.netns);
  }

  /** The address of container `name`. */
  address(name: string): string {
    const found = this.#containers.get(name);
    if (!found) throw new Error(`aardvark: no container ${name}`);
    return found.address;
  }

  /** Gives container `name` a namespace and an interface on the bridge, as netavark's setup would; no name yet. */
  async plumb(name: string): Promise<void> {
    const n = this.#next++;
    const netns = this.ns.name(`c-aa-${name}`);
    const address = `10.236.0.${10 + n}`;
    const veth = `av${n}`;
    await mustRun([IP, 'netns', 'add', netns]);
    this.#containers.set(name, { id: createHash('sha256').update(netns).digest('hex'), address, netns });
    await mustRun(inNetns(this.host, [IP, '-batch', '-']), {
      input: `link add ${veth} master ${BRIDGE} up type veth peer name eth0 netns ${netnsFile(netns)}\n`,
    });
    await mustRun(inNetns(netns, [IP, '-batch', '-']), {
      input: `link set dev lo up\naddress add ${address}/24 dev eth0\nlink set dev eth0 up\nroute add default via ${NAMES_GATEWAY}\n`,
    });
  }

  /** Writes the network's config file naming `names` (each plumbed), as netavark writes it. */
  async writeConfig(names: readonly string[]): Promise<void> {
    const lines = names.map((name) => {
      const { id, address } = this.#containers.get(name) ?? { id: '', address: '' };
      return `${id} ${address}  ${name}`;
    });
    await writeFile(join(this.configDir, NETWORK), `${NAMES_GATEWAY} ${WORLD_RESOLVER}\n${lines.map((l) => `${l}\n`).join('')}`);
  }

  /** Starts the server as netavark does, and records its PID. */
  async start(): Promise<void> {
    await mustRun(inNetns(this.host, [AARDVARK, '--config', this.configDir, '-p', '53', 'run']));
    this.#pid = Number((await readFile(join(this.configDir, PID_FILE), 'utf8')).trim());
    if (!Number.isInteger(this.#pid) || this.#pid <= 1) throw new Error(`aardvark-dns wrote no usable PID: ${String(this.#pid)}`);
    trackDaemon(this.#pid, 'aardvark-dns');
  }

  /** Tells the server to read its config again, as netavark does after each change. */
  reload(): void {
    if (this.#pid === undefined) throw new Error('aardvark-dns is not running');
    process.kill(this.#pid, 'SIGHUP');
  }

  /** Ends the server by its PID and waits until it is gone. */
  async stop(): Promise<void> {
    const pid = this.#pid;
    if (pid === undefined) return;
    this.#pid = undefined;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    for (let i = 0; i < 200; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    untrackDaemon(pid);
  }
}
