import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { mustRun, runProcess, type ProcResult } from './proc.js';

const NETNS_DIR = '/run/netns';
export const IP = '/usr/sbin/ip';
export const NSENTER = '/usr/bin/nsenter';

/** The file that pins a named namespace. */
export function netnsFile(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

/** `nsenter --net=/run/netns/NAME -- ARGV`: how every peer and tool runs inside a throwaway namespace. */
export function inNetns(name: string, argv: readonly string[]): string[] {
  return inNetnsAt(netnsFile(name), argv);
}

/** `nsenter --net=PATH -- ARGV`, for a namespace known by its file (a sandbox netmode named). */
export function inNetnsAt(path: string, argv: readonly string[]): string[] {
  return [NSENTER, `--net=${path}`, '--', ...argv];
}

async function namedNamespaces(): Promise<string[]> {
  try {
    return await readdir(NETNS_DIR);
  } catch {
    return [];
  }
}

/**
 * Every namespace of one run carries the prefix `nb` + 3 hex digits (also
 * netmode's `namePrefix`), so the run can find and delete all it made, and
 * nothing else, whatever happened.
 */
export class Namespaces {
  private constructor(readonly prefix: string) {}

  /** Picks a prefix that no existing namespace carries. */
  static async create(): Promise<Namespaces> {
    const existing = await namedNamespaces();
    let prefix: string;
    do prefix = `nb${randomBytes(2).toString('hex').slice(0, 3)}`;
    while (existing.some((name) => name.startsWith(prefix)));
    return new Namespaces(prefix);
  }

  /** The same run's namespaces, seen from a child process given the prefix. */
  static withPrefix(prefix: string): Namespaces {
    if (!/^nb[0-9a-f]{3}$/.test(prefix)) throw new Error(`not a benchmark prefix: ${prefix}`);
    return new Namespaces(prefix);
  }

  /** The full name for a suffix; suffixes use `-` so they never look like netmode's hex sandbox names. */
  name(suffix: string): string {
    return `${this.prefix}-${suffix}`;
  }

  /**
   * Creates a namespace that plays a host: `lo` up and forwarding on (only
   * here, never in the root namespace). Returns its name.
   */
  async createHost(suffix: string): Promise<string> {
    const name = this.name(suffix);
    await mustRun([IP, 'netns', 'add', name]);
    await mustRun(inNetns(name, [IP, 'link', 'set', 'lo', 'up']));
    await mustRun(inNetns(name, ['/usr/sbin/sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']));
    return name;
  }

  /** Names of every namespace this run made that still exists. */
  async leftovers(): Promise<string[]> {
    return (await namedNamespaces()).filter((name) => name.startsWith(this.prefix)).sort();
  }

  /**
   * Deletes every namespace with the prefix, in one `ip -force -batch`;
   * deleting a host namespace removes its bridges, veths and firewall with it.
   */
  async deleteAll(): Promise<ProcResult | undefined> {
    const names = await this.leftovers();
    if (names.length === 0) return undefined;
    return runProcess([IP, '-force', '-batch', '-'], { input: names.map((n) => `netns delete ${n}\n`).join(''), evenWhenStopping: true });
  }
}
