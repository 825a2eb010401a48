import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { netnsPath, type Endpoint, type SandboxFiles } from '@netmode/core';

/** Installs runc and busybox-static with apt-get when they are missing (the test runs as root). */
export function ensureRuncTools(): void {
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

export interface Ran {
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
/** What a container's names are: its hostname and the sandbox's files to mount. */
export interface RuncNames {
  readonly hostname: string;
  readonly files: SandboxFiles;
}

export class Runc {
  readonly #dir: string;
  readonly #state: string;
  readonly #ids = new Set<string>();
  #template: Record<string, unknown> | undefined;

  constructor(dir: string) {
    this.#dir = dir;
    this.#state = join(dir, 'runc-state');
  }

  async #bundle(id: string, netns: string, args: readonly string[], names?: RuncNames): Promise<string> {
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
      mounts: { destination: string; type: string; source: string; options: string[] }[];
      linux: { namespaces: { type: string; path?: string }[] };
    };
    config.process.terminal = false;
    config.process.args = [...args];
    config.process.env = ['PATH=/bin'];
    // busybox ping needs a raw socket.
    for (const set of ['bounding', 'effective', 'permitted'])
      config.process.capabilities[set] = [...(config.process.capabilities[set] ?? []), 'CAP_NET_RAW'];
    config.root = { path: 'rootfs', readonly: true };
    config.hostname = names?.hostname ?? id;
    if (names) {
      // The sandbox's name files, bind-mounted as a runtime does (the targets must exist in a read-only root).
      const files = { '/etc/hostname': names.files.hostname, '/etc/hosts': names.files.hosts, '/etc/resolv.conf': names.files.resolvConf };
      for (const [destination, source] of Object.entries(files)) {
        if (source === undefined) continue;
        await writeFile(join(rootfs, destination), '');
        config.mounts.push({ destination, type: 'bind', source, options: ['rbind', 'ro'] });
      }
    }
    config.linux.namespaces = config.linux.namespaces.map((ns) => (ns.type === 'network' ? { type: 'network', path: netns } : ns));
    await writeFile(join(bundle, 'config.json'), JSON.stringify(config, null, 2));
    return bundle;
  }

  /** Runs `sh -c SCRIPT` in a new container to its end; with `names`, its hostname and name files mounted. */
  async run(id: string, endpoint: Endpoint, script: string, names?: RuncNames): Promise<Ran> {
    const bundle = await this.#bundle(id, netnsPath(endpoint.netns), ['/bin/busybox', 'sh', '-c', script], names);
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
