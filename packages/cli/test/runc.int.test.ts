import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetMode, netnsPath, type Endpoint, type NetworkManager } from '@netmode/core';
import { integrationAvailable } from '@netmode/core/testing';
import { registerBridgeDriver } from '@netmode/driver-bridge';
import { registerContainerDriver } from '@netmode/driver-container';
import { registerHostDriver } from '@netmode/driver-host';
import { registerNoneDriver } from '@netmode/driver-none';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt } from './support/cli.js';
import { ADDR, createWorld, type World } from './support/world.js';

const root = integrationAvailable();

/** Installs runc and busybox-static with apt-get when they are missing (the test runs as root). */
function ensureTools(): void {
  const missing = [
    ['runc', '/usr/sbin/runc'],
    ['busybox-static', '/bin/busybox'],
  ].filter(([, path]) => !existsSync(path as string));
  if (missing.length === 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing.map(([pkg]) => pkg as string)], {
    env,
    stdio: 'ignore',
  });
}

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], stdio: 'pipe' | 'ignore' = 'pipe'): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', stdio, stdio] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * A busybox-static container run by runc (OCI runtime), its network
 * namespace the one netmode prepared: `linux.namespaces[network].path`.
 */
class Runc {
  readonly #dir: string;
  readonly #state: string;
  readonly #ids = new Set<string>();
  #template: Record<string, unknown> | undefined;

  constructor(dir: string) {
    this.#dir = dir;
    this.#state = join(dir, 'runc-state');
  }

  async #bundle(id: string, netns: string, args: readonly string[]): Promise<string> {
    if (!this.#template) {
      const spec = join(this.#dir, 'spec');
      await mkdir(spec, { recursive: true });
      execFileSync('runc', ['spec', '--bundle', spec]);
      this.#template = JSON.parse(await readFile(join(spec, 'config.json'), 'utf8')) as Record<string, unknown>;
    }
    const bundle = join(this.#dir, id);
    const rootfs = join(bundle, 'rootfs');
    for (const sub of ['bin', 'proc', 'dev', 'sys', 'tmp', 'etc']) await mkdir(join(rootfs, sub), { recursive: true });
    await copyFile('/bin/busybox', join(rootfs, 'bin', 'busybox'));
    await symlink('busybox', join(rootfs, 'bin', 'sh'));
    const config = structuredClone(this.#template) as {
      process: { terminal: boolean; args: string[]; env: string[]; capabilities: Record<string, string[]> };
      root: { path: string; readonly: boolean };
      hostname?: string;
      linux: { namespaces: { type: string; path?: string }[] };
    };
    config.process.terminal = false;
    config.process.args = [...args];
    config.process.env = ['PATH=/bin'];
    // busybox ping needs a raw socket.
    for (const set of ['bounding', 'effective', 'permitted'])
      config.process.capabilities[set] = [...(config.process.capabilities[set] ?? []), 'CAP_NET_RAW'];
    config.root = { path: 'rootfs', readonly: true };
    config.hostname = id;
    config.linux.namespaces = config.linux.namespaces.map((ns) => (ns.type === 'network' ? { type: 'network', path: netns } : ns));
    await writeFile(join(bundle, 'config.json'), JSON.stringify(config, null, 2));
    return bundle;
  }

  /** Runs `sh -c SCRIPT` in a new container to its end. */
  async run(id: string, endpoint: Endpoint, script: string): Promise<Ran> {
    const bundle = await this.#bundle(id, netnsPath(endpoint.netns), ['/bin/busybox', 'sh', '-c', script]);
    this.#ids.add(id);
    const result = await run('runc', ['--root', this.#state, 'run', '--bundle', bundle, id]);
    await this.delete(id);
    return result;
  }

  /** Starts a container in the background (`runc run -d`). */
  async start(id: string, endpoint: Endpoint, script: string): Promise<void> {
    const bundle = await this.#bundle(id, netnsPath(endpoint.netns), ['/bin/busybox', 'sh', '-c', script]);
    this.#ids.add(id);
    const result = await run('runc', ['--root', this.#state, 'run', '-d', '--bundle', bundle, id], 'ignore');
    if (result.code !== 0) throw new Error(`runc run -d ${id} exited ${result.code}`);
  }

  async delete(id: string): Promise<void> {
    await run('runc', ['--root', this.#state, 'delete', '-f', id]);
    this.#ids.delete(id);
  }

  /** Deletes every container it made (runc kills their processes), then its directory. */
  async cleanup(): Promise<void> {
    for (const id of [...this.#ids]) await this.delete(id);
    await rm(this.#dir, { recursive: true, force: true });
  }
}

describe.skipIf(!root)('a real OCI runtime (runc + busybox) in the namespaces netmode prepares', () => {
  let world: World;
  let netmode: NetworkManager;
  let runc: Runc;

  beforeAll(async () => {
    assertBuilt();
    ensureTools();
    world = await createWorld();
    await world.serveOutside(9000);
    netmode = createNetMode({
      drivers: [registerNoneDriver, registerHostDriver, (c) => registerBridgeDriver(c, { bip: '10.249.0.1/24' }), registerContainerDriver],
      hostNetns: world.fixture.hostNetns,
      stateDir: world.fixture.stateDir,
      namePrefix: world.fixture.prefix,
    });
    runc = new Runc(await mkdtemp(join(tmpdir(), 'netmode-runc-')));
  }, 300_000);

  afterAll(async () => {
    await runc?.cleanup();
    // Deleting every namespace with the fixture's prefix removes whatever a
    // failed test left (rules included: they live in the host namespace).
    await world?.cleanup();
  });

  it('bridge: the container has its address and route, reaches the gateway and the outside (masqueraded), and serves a published port', async () => {
    const endpoint = await netmode.connect('rc-web', 'bridge', { ports: [{ hostPort: 8080, containerPort: 80 }] });
    const address = endpoint.addresses[0] as string;
    const seen = await runc.run(
      'rc-look',
      endpoint,
      'ip -o -4 addr show eth0; ip route; ping -c 1 -W 2 10.249.0.1 >/dev/null && echo PING-GATEWAY-OK; ' +
        `ping -c 1 -W 2 ${ADDR.internet} >/dev/null && echo PING-OUTSIDE-OK; echo ANSWER $(nc -w 2 ${ADDR.internet} 9000 </dev/null)`,
    );
    expect(seen.code, seen.stderr).toBe(0);
    expect(seen.stdout).toContain(`inet ${address}`);
    expect(seen.stdout).toContain('default via 10.249.0.1 dev eth0');
    expect(seen.stdout).toContain('PING-GATEWAY-OK');
    expect(seen.stdout).toContain('PING-OUTSIDE-OK');
    expect(seen.stdout).toContain(`ANSWER ${ADDR.host}`);

    await runc.start('rc-server', endpoint, 'exec nc -ll -p 80 -e echo served-by-runc');
    let answer = await world.fromOutside('tcp-ask', ADDR.host, '8080');
    for (let i = 0; i < 50 && !answer.ok; i += 1) answer = await world.fromOutside('tcp-ask', ADDR.host, '8080');
    expect(answer).toMatchObject({ ok: true, answer: 'served-by-runc' });
  });

  it("container:NAME: a second runc container in the joiner's namespace sees the same eth0 and reaches the first over 127.0.0.1", async () => {
    const web = await netmode.inspectEndpoint('rc-web');
    const side = await netmode.connect('rc-side', 'container:rc-web');
    expect(netnsPath(side.netns)).toBe(netnsPath(web.netns));
    const seen = await runc.run('rc-side-look', side, 'ip -o -4 addr show eth0; echo ANSWER $(nc -w 2 127.0.0.1 80 </dev/null)');
    expect(seen.code, seen.stderr).toBe(0);
    expect(seen.stdout).toContain(`inet ${web.addresses[0]}`);
    expect(seen.stdout).toContain('ANSWER served-by-runc');
    await runc.delete('rc-server');
    await netmode.disconnect('rc-side');
    await netmode.disconnect('rc-web');
    expect(await world.sandboxes()).toEqual([]);
  });

  it('none: the container has only lo, up, and no route anywhere', async () => {
    const endpoint = await netmode.connect('rc-none', 'none');
    const seen = await runc.run('rc-none-look', endpoint, `ip -o link; ip route; ping -c 1 -W 1 ${ADDR.internet}; echo PING-EXIT $?`);
    expect(seen.code).toBe(0);
    const links = seen.stdout.split('\n').filter((l) => /^\d+: /.test(l));
    expect(links).toHaveLength(1);
    expect(links[0]).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
    expect(seen.stdout + seen.stderr).toMatch(/Network unreachable|network is unreachable/i);
    expect(seen.stdout).toMatch(/PING-EXIT [1-9]/);
    await netmode.disconnect('rc-none');
    expect(await world.sandboxes()).toEqual([]);
  });
});
