import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { netnsPath, resolveToolPath, type NetnsRef } from '@netmode/core';
import { createNetnsFixture, type NetnsFixture } from '@netmode/core/testing';
import { PROBE, netmode, type Result, type RunOptions } from './cli.js';
import { THROUGH_DAEMON, startDaemon, type TestDaemon } from './daemon.js';

/** Addresses of the test world; each lives only in a namespace the test made. */
export const ADDR = {
  host: '10.231.255.1',
  ext: '10.231.255.2',
  internet: '10.231.254.1',
} as const;

/** What the probe printed. */
export interface Probe {
  readonly ok: boolean;
  readonly answer?: string;
  readonly error?: string;
  readonly ifaces?: Record<string, string[]>;
}

/** Parses the probe's JSON line out of a `netmode exec`/`run` result. */
export function probeOf(result: Result): Probe {
  const line = result.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Probe;
  } catch {
    throw new Error(`the probe printed no JSON: ${JSON.stringify(result)}`);
  }
}

/**
 * A throwaway host namespace (the fixture's, `ntXXXhost`) joined by a veth to
 * an outside world (`ntXXXext`), a state directory, and `cli()`, which runs
 * the binary with `--host-netns`, `--state-dir` and `--name-prefix` pointing
 * at them. Every namespace carries the fixture's prefix; `cleanup()` removes
 * the containers (killing only their recorded processes), then every
 * namespace and the state directory.
 */
export interface World {
  readonly fixture: NetnsFixture;
  readonly ext: NetnsRef;
  /** The daemon every command goes through, when NETMODE_TEST_THROUGH_DAEMON=1 (support/daemon.ts). */
  readonly daemon: TestDaemon | undefined;
  /** The global options that point the binary at this world. */
  readonly globals: string[];
  /**
   * The SDK's settings of this world (host namespace, state, prefix, the
   * flags given): `globals` itself in-process; through a daemon, what the
   * daemon got, for the commands that always embed the SDK (`doctor`).
   */
  readonly settings: readonly string[];
  cli(args: readonly string[], options?: RunOptions): Promise<Result>;
  /** The same settings as NETMODE_* environment variables, for `netmode(args, { env })`. */
  readonly env: Record<string, string>;
  /** Starts the probe server (TCP and UDP) in the outside world; stopped at cleanup. */
  serveOutside(port: number): Promise<void>;
  /** Sandbox namespaces netmode made here (the prefix's, but for the world's own host and ext). */
  sandboxes(): Promise<string[]>;
  /** Runs the probe in the outside world. */
  fromOutside(...args: string[]): Promise<Probe>;
  cleanup(): Promise<void>;
}

/**
 * Builds a world; `flags` are global options added before every command
 * `cli()` runs. With NETMODE_TEST_THROUGH_DAEMON=1, the world's settings and
 * `flags` go to a `netmode daemon` of its own, started once the world
 * stands, and every command gets `--state-dir` and `-H` alone.
 */
export async function createWorld(flags: readonly string[] = []): Promise<World> {
  const fixture = await createNetnsFixture();
  const settings = ['--host-netns', `${fixture.prefix}host`, '--state-dir', fixture.stateDir, '--name-prefix', fixture.prefix, ...flags];
  const globals = [...settings];
  const env: Record<string, string> = {
    NETMODE_HOST_NETNS: `${fixture.prefix}host`,
    NETMODE_STATE_DIR: fixture.stateDir,
    NETMODE_NAME_PREFIX: fixture.prefix,
  };
  let daemon: TestDaemon | undefined;
  const servers: ChildProcess[] = [];
  const cleanup = async () => {
    // rm -f kills only the process it recorded (PID and start time), then disconnects.
    const ps = await netmode([...globals, 'ps', '--json']).catch(() => undefined);
    const names = ps?.code === 0 ? (JSON.parse(ps.stdout) as { name: string }[]).map((c) => c.name) : [];
    for (const name of names) await netmode([...globals, 'rm', '-f', name]).catch(() => {});
    await daemon?.stop();
    await killRecorded(fixture.stateDir);
    for (const child of servers) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await fixture.cleanup();
  };
  try {
    const ext = await fixture.createNetns('ext');
    const host = fixture.hostNetns;
    const ip = (netns: NetnsRef, ...args: string[]) => fixture.ip(netns, ...args);
    await ip(host, 'link', 'add', 'ext0', 'up', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netnsPath(ext));
    await ip(host, 'address', 'add', `${ADDR.host}/30`, 'dev', 'ext0');
    await ip(host, 'route', 'add', 'default', 'via', ADDR.ext);
    await ip(ext, 'address', 'add', `${ADDR.ext}/30`, 'dev', 'eth0');
    await ip(ext, 'link', 'set', 'eth0', 'up');
    await ip(ext, 'address', 'add', `${ADDR.internet}/32`, 'dev', 'lo');
    if (THROUGH_DAEMON) {
      daemon = await startDaemon(settings);
      globals.splice(0, globals.length, '--state-dir', fixture.stateDir, '-H', daemon.url);
      for (const key of Object.keys(env)) delete env[key];
      Object.assign(env, { NETMODE_STATE_DIR: fixture.stateDir, NETMODE_HOST: daemon.url });
    }
    return {
      fixture,
      ext,
      daemon,
      globals,
      settings,
      env,
      cli: (args, options) => netmode([...globals, ...args], options),
      sandboxes: async () =>
        (await readdir('/run/netns')).filter(
          (n) => n.startsWith(fixture.prefix) && n !== `${fixture.prefix}host` && n !== `${fixture.prefix}ext`,
        ),
      serveOutside: (port) =>
        new Promise((resolve, reject) => {
          const child = spawn(resolveToolPath('nsenter'), [
            `--net=${netnsPath(ext)}`,
            '--',
            process.execPath,
            PROBE,
            'serve',
            String(port),
          ]);
          servers.push(child);
          child.stdout.on('data', (d: Buffer) => d.toString().includes('"ready"') && resolve());
          child.once('error', reject);
          child.once('exit', (code) => reject(new Error(`outside server exited ${code}`)));
        }),
      fromOutside: (...args) =>
        new Promise((resolve, reject) => {
          const child = spawn(resolveToolPath('nsenter'), [`--net=${netnsPath(ext)}`, '--', process.execPath, PROBE, ...args]);
          let out = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.once('error', reject);
          child.once('close', (code) => {
            try {
              resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as Probe);
            } catch {
              reject(new Error(`outside probe exited ${code} with ${JSON.stringify(out)}`));
            }
          });
        }),
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/**
 * Kills, by PID and only while its start time matches, any process still
 * recorded in the state directory, and any process that carries the start
 * token of a record (started by a `run` killed before it recorded it).
 */
async function killRecorded(stateDir: string): Promise<void> {
  const containers = join(stateDir, 'cli', 'containers');
  const tokens = new Set<string>();
  for (const file of await readdir(containers).catch(() => [] as string[])) {
    let record: { process?: { pid: number; start: string }; startToken?: string };
    try {
      record = JSON.parse(await readFile(join(containers, file), 'utf8')) as typeof record;
    } catch {
      continue; // a record a test damaged on purpose
    }
    if (record?.process && (await startTime(record.process.pid)) === record.process.start) process.kill(record.process.pid, 'SIGKILL');
    if (typeof record?.startToken === 'string') tokens.add(`NETMODE_START_TOKEN=${record.startToken}`);
  }
  if (tokens.size === 0) return;
  for (const pid of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(pid)) continue;
    const environ = await readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '');
    if (environ.split('\0').some((entry) => tokens.has(entry))) process.kill(Number(pid), 'SIGKILL');
  }
}

/** Field 22 of /proc/PID/stat. */
export async function startTime(pid: number): Promise<string | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = text
      .slice(text.lastIndexOf(')') + 1)
      .trim()
      .split(/\s+/);
    return fields[0] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}
