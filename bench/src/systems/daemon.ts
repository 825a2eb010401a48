import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Namespaces } from '../namespaces.js';
import { GATEWAY, PREFIX_LENGTH } from './addresses.js';
import { emptyTrace, type EndpointSystem, type OpTrace } from './system.js';

/** The built `netmode` binary, whose `daemon` command this system starts. */
const BIN = fileURLToPath(new URL('../../../packages/cli/dist/bin.js', import.meta.url));

/**
 * netmode's bridge mode through the `-H` socket: a `netmode daemon` in its
 * own host namespace (nftables, the durable file store, as `netmode, nftables`),
 * asked over a unix socket with Node's http client and a kept-alive
 * connection, as `netmode -H` and a runtime in another language would. The
 * difference from `netmode, nftables` is the cost of the channel: HTTP,
 * JSON, schema checks, and a second process. Its traces are empty: the
 * commands run in the daemon, out of this process's sight.
 */
export class DaemonSystem implements EndpointSystem {
  readonly key = 'nm-daemon';
  readonly label = 'netmode, nftables, through the -H socket';
  readonly #child: ChildProcess;
  readonly #socket: string;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 16 });

  private constructor(child: ChildProcess, socket: string) {
    this.#child = child;
    this.#socket = socket;
  }

  static async create(ns: Namespaces, tmp: string): Promise<DaemonSystem> {
    const host = await ns.createHost('h-nm-daemon');
    const socket = join(tmp, 'nm-daemon.sock');
    const settings = ['--host-netns', host, '--state-dir', join(tmp, 'state-nm-daemon'), '--name-prefix', ns.prefix];
    const child = spawn(process.execPath, [BIN, ...settings, '--bip', `${GATEWAY}/${PREFIX_LENGTH}`, 'daemon', '-H', `unix://${socket}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let said = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`netmode daemon did not listen within 30 s: ${said}`)), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        said += d.toString();
        if (said.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr.on('data', (d: Buffer) => (said += d.toString()));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`netmode daemon exited ${code}: ${said}`));
      });
    });
    child.stdout.resume();
    child.stderr.resume();
    return new DaemonSystem(child, socket);
  }

  /** The container id: unique across the run, as the other netmode rows make it. */
  containerId(name: string): string {
    return `${this.key}-${name}`;
  }

  async attach(name: string, hostPort?: number): Promise<OpTrace> {
    const options = hostPort === undefined ? {} : { ports: [{ hostPort, containerPort: 80 }] };
    await this.#post(`/netmode/v1/containers/${this.containerId(name)}/connect`, { mode: 'bridge', options }, 201);
    return emptyTrace();
  }

  async detach(name: string): Promise<OpTrace> {
    await this.#post(`/netmode/v1/containers/${this.containerId(name)}/disconnect`, {}, 204);
    return emptyTrace();
  }

  /** SIGTERM to the daemon this system started (by its PID), and waits for it to end. */
  async close(): Promise<void> {
    this.#agent.destroy();
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const ended = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 30_000);
    await ended;
    clearTimeout(timer);
  }

  #post(path: string, body: unknown, expected: number): Promise<void> {
    const payload = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.#socket,
          agent: this.#agent,
          method: 'POST',
          path,
          headers: { 'content-type': 'application/json', 'content-length': payload.length },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => (res.statusCode === expected ? resolve() : reject(new Error(`${path}: ${res.statusCode} ${text}`))));
          res.on('error', reject);
        },
      );
      req.once('error', reject);
      req.end(payload);
    });
  }
}
