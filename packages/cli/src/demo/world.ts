import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ExecaRunner, NetnsSandboxService, namedNetns, netnsPath, resolveToolPath, type NetnsRef } from '@netmode/core';

/** The probe script shipped with the CLI. */
export const PROBE = fileURLToPath(new URL('./probe.js', import.meta.url));

/** Addresses of the demo's world; each lives only in a namespace the demo made. */
export const WORLD = {
  /** The host's address towards the outside world. */
  host: '10.231.255.1',
  /** The outside world's address on the shared link. */
  ext: '10.231.255.2',
  /** An "internet" address on the outside world's lo, behind ext. */
  internet: '10.231.254.1',
} as const;

/**
 * The throwaway world the demo runs in (the topology of the bridge tests):
 *
 * ```
 *   PREFIXhost (plays the host)                PREFIXext (the outside world)
 *     ext0 10.231.255.1/30  <--- veth --->  eth0 10.231.255.2/30
 *     default via 10.231.255.2                lo 10.231.254.1/32 ("internet")
 * ```
 *
 * The outside world has no route back to any container subnet: a reply
 * reaches a container only through the host's masquerade, and a connection
 * from outside reaches one only through a published port.
 */
export class World {
  readonly prefix: string;
  readonly host: NetnsRef;
  readonly ext: NetnsRef;
  readonly #runner = new ExecaRunner();
  readonly #sandboxes = new NetnsSandboxService(this.#runner);
  readonly #children = new Set<ChildProcess>();

  private constructor(prefix: string) {
    this.prefix = prefix;
    this.host = namedNetns(`${prefix}host`);
    this.ext = namedNetns(`${prefix}ext`);
  }

  /** Picks a prefix (`nd` and 3 hex digits) that no namespace carries yet. */
  static async pickPrefix(): Promise<string> {
    const sandboxes = new NetnsSandboxService(new ExecaRunner());
    for (;;) {
      const prefix = `nd${randomBytes(2).toString('hex').slice(0, 3)}`;
      if ((await sandboxes.listNamed(prefix)).length === 0) return prefix;
    }
  }

  /** A world whose objects all carry `prefix`; call {@link build}, and {@link destroy} in a finally. */
  static of(prefix: string): World {
    return new World(prefix);
  }

  async build(): Promise<void> {
    await this.#sandboxes.create(`${this.prefix}host`);
    await this.#sandboxes.create(`${this.prefix}ext`);
    await this.ip(this.host, 'link', 'add', 'ext0', 'up', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netnsPath(this.ext));
    await this.ip(this.host, 'address', 'add', `${WORLD.host}/30`, 'dev', 'ext0');
    await this.ip(this.host, 'route', 'add', 'default', 'via', WORLD.ext);
    await this.ip(this.ext, 'address', 'add', `${WORLD.ext}/30`, 'dev', 'eth0');
    await this.ip(this.ext, 'link', 'set', 'eth0', 'up');
    await this.ip(this.ext, 'address', 'add', `${WORLD.internet}/32`, 'dev', 'lo');
  }

  async ip(netns: NetnsRef, ...args: string[]): Promise<string> {
    return (await this.#runner.run({ command: 'ip', args, netns })).stdout;
  }

  /** Starts the probe server in the outside world on `port` (TCP and UDP); resolves once it listens. */
  serveOutside(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        resolveToolPath('nsenter'),
        [`--net=${netnsPath(this.ext)}`, '--', process.execPath, PROBE, 'serve', String(port)],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      this.#children.add(child);
      child.stdout.on('data', (d: Buffer) => d.toString().includes('"ready"') && resolve());
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the outside probe server exited (${code})`)));
    });
  }

  /** Runs the probe in the outside world and returns its JSON line. */
  askFromOutside(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(resolveToolPath('nsenter'), [`--net=${netnsPath(this.ext)}`, '--', process.execPath, PROBE, ...args], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.once('error', reject);
      child.once('close', () => resolve(out));
    });
  }

  /** Names of the namespaces that still carry the prefix. */
  leftovers(): Promise<string[]> {
    return this.#sandboxes.listNamed(this.prefix);
  }

  /**
   * Stops the processes the world started (its own children, by PID) and
   * deletes every namespace carrying the prefix. Safe to call twice.
   */
  async destroy(): Promise<string[]> {
    for (const child of this.#children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    this.#children.clear();
    const failures: string[] = [];
    for (const name of await this.#sandboxes.listNamed(this.prefix)) {
      await this.#sandboxes.delete(namedNetns(name)).catch((error: unknown) => failures.push(`${name}: ${String(error)}`));
    }
    return failures;
  }
}
