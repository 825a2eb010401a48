import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { netnsPath, resolveToolPath, type NetnsRef } from '@netmode/core';
import { createNetnsFixture, type NetnsFixture } from '@netmode/core/testing';

const PROBE = fileURLToPath(new URL('./probe.mjs', import.meta.url));

/** Addresses of the test topology; every one lives in a namespace the test made. */
export const ADDR = {
  /** The host's address towards the outside world. */
  host: '10.231.255.1',
  /** The outside world's address on the shared link. */
  ext: '10.231.255.2',
  /** An "internet" address on the outside world's lo. */
  internet: '10.231.254.1',
  /** A second host address, on the host's lo, reachable from outside. */
  hostSecond: '10.231.253.1',
} as const;

/**
 * The topology of ../shared/PEERS.md: a throwaway "host" namespace and an
 * "outside world" namespace joined by a veth. The outside world has no route
 * to container subnets unless a test adds one, so a reply reaches a container
 * only through the host's masquerade, and a connection from outside reaches
 * one only through DNAT.
 */
export interface Topology {
  /** The fixture; its host namespace plays the host. */
  readonly fixture: NetnsFixture;
  /** The outside world. */
  readonly ext: NetnsRef;
  /** Runs a probe to completion in `netns`; resolves with its output and exit status. */
  ask(netns: NetnsRef, mode: 'tcp-ask' | 'udp-ask', host: string, port: number): Promise<{ ok: boolean; out: string }>;
  /**
   * Starts a probe server in `netns` and resolves, once it listens, with a
   * function that stops it. A process inside a namespace keeps the namespace
   * (and its veth pair) alive after `ip netns delete`, so stop servers before
   * checking that a disconnect left nothing.
   */
  serve(netns: NetnsRef, mode: 'tcp-serve' | 'udp-serve', port: number): Promise<() => Promise<void>>;
  /**
   * Starts the Node script `script` with `args` in `netns` and resolves once
   * it printed `ready`: a server of a test's own (a DNS resolver). Stopped by
   * its PID with the returned `stop`, or by {@link cleanup}.
   */
  launch(netns: NetnsRef, script: string, ...args: string[]): Promise<Launched>;
  /** Like {@link serve}, a TCP server that answers every connection with `name`: tells which server a client reached. */
  serveName(netns: NetnsRef, port: number, name: string): Promise<() => Promise<void>>;
  /**
   * Starts a UDP server in `netns` that never answers and records `SENDER TEXT`
   * for every datagram (for senders whose replies could not come back, such
   * as a forged source); resolves once it listens.
   */
  record(netns: NetnsRef, port: number): Promise<UdpLog>;
  /** Sends one datagram `text` from the local address `source` in `netns`; resolves to whether it was sent. */
  send(netns: NetnsRef, host: string, port: number, source: string, text: string): Promise<boolean>;
  /** `ping -c1` from `netns`; with `size`, a don't-fragment ping of that payload size. */
  ping(netns: NetnsRef, host: string, size?: number): Promise<boolean>;
  /** Runs a command in a namespace and returns its stdout (throws on failure). */
  run(netns: NetnsRef, command: string, ...args: string[]): Promise<string>;
  /** Stops every probe server (by its PID) and deletes every namespace. */
  cleanup(): Promise<void>;
}

/** A process {@link Topology.launch} started. */
export interface Launched {
  /** The lines it printed after `ready`, as they come. */
  readonly lines: string[];
  /** Ends it (SIGKILL, by its PID) and resolves once it exited. */
  stop(): Promise<void>;
}

/** What a {@link Topology.record} server received. */
export interface UdpLog {
  /** One `SENDER TEXT` line per datagram, in arrival order. */
  readonly lines: readonly string[];
  /**
   * Resolves `true` once a datagram whose text is `text` arrived, `false` if
   * none did within 5 s. Datagrams sent earlier on the same path arrive
   * before it: wait for a marker sent last, then look at {@link lines}.
   */
  waitFor(text: string): Promise<boolean>;
  /** Stops the server (by its PID). */
  stop(): Promise<void>;
}

/** Builds the topology. Call `cleanup()` in afterAll. */
export async function createTopology(): Promise<Topology> {
  const fixture = await createNetnsFixture();
  const servers = new Set<ChildProcess>();
  const run = async (netns: NetnsRef, command: string, ...args: string[]) => (await fixture.runner.run({ command, args, netns })).stdout;
  const cleanup = async () => {
    for (const child of servers) if (child.exitCode === null) child.kill('SIGKILL');
    servers.clear();
    await fixture.cleanup();
  };
  try {
    const ext = await fixture.createNetns('ext');
    const host = fixture.hostNetns;
    await run(host, 'ip', 'link', 'add', 'ext0', 'up', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netnsPath(ext));
    await run(host, 'ip', 'address', 'add', `${ADDR.host}/30`, 'dev', 'ext0');
    await run(host, 'ip', 'address', 'add', `${ADDR.hostSecond}/32`, 'dev', 'lo');
    await run(host, 'ip', 'route', 'add', 'default', 'via', ADDR.ext);
    await run(ext, 'ip', 'address', 'add', `${ADDR.ext}/30`, 'dev', 'eth0');
    await run(ext, 'ip', 'link', 'set', 'eth0', 'up');
    await run(ext, 'ip', 'address', 'add', `${ADDR.internet}/32`, 'dev', 'lo');
    await run(ext, 'ip', 'route', 'add', `${ADDR.hostSecond}/32`, 'via', ADDR.host);

    const nsenter = (netns: NetnsRef, args: string[], script = PROBE) => [
      `--net=${netnsPath(netns)}`,
      '--',
      process.execPath,
      script,
      ...args,
    ];
    /** Starts a script (the probe by default) and resolves once it printed `ready`, with the lines it printed since and a way to stop it. */
    const start = (netns: NetnsRef, args: string[], script = PROBE) =>
      new Promise<Launched>((resolve, reject) => {
        const child = spawn(resolveToolPath('nsenter'), nsenter(netns, args, script));
        servers.add(child);
        const exited = new Promise<void>((done) => child.once('exit', () => done()));
        const stop = async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
          servers.delete(child);
        };
        const lines: string[] = [];
        let partial = '';
        child.stdout.on('data', (d: Buffer) => {
          const parts = (partial + d.toString()).split('\n');
          partial = parts.pop() ?? '';
          for (const line of parts) {
            if (line === 'ready') resolve({ lines, stop });
            else lines.push(line);
          }
        });
        child.on('exit', (code) => reject(new Error(`probe server exited ${code}`)));
      });
    return {
      fixture,
      ext,
      run,
      cleanup,
      ask: (netns, mode, target, port) =>
        new Promise((resolve) => {
          const child = spawn(resolveToolPath('nsenter'), nsenter(netns, [mode, target, String(port)]));
          let out = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.on('exit', (code) => resolve({ ok: code === 0, out: out.trim() }));
        }),
      launch: (netns, script, ...args) => start(netns, args, script),
      serve: (netns, mode, port) => start(netns, [mode, String(port)]).then((server) => server.stop),
      serveName: (netns, port, name) => start(netns, ['tcp-name', String(port), name]).then((server) => server.stop),
      record: async (netns, port) => {
        const server = await start(netns, ['udp-log', String(port)]);
        return {
          get lines() {
            return server.lines;
          },
          waitFor: async (text) => {
            for (const deadline = Date.now() + 5000; Date.now() < deadline; await sleep(20)) {
              if (server.lines.some((line) => line.endsWith(` ${text}`))) return true;
            }
            return false;
          },
          stop: server.stop,
        };
      },
      send: (netns, target, port, source, text) =>
        new Promise((resolve) => {
          const child = spawn(resolveToolPath('nsenter'), nsenter(netns, ['udp-send', target, String(port), source, text]));
          child.on('exit', (code) => resolve(code === 0));
        }),
      ping: async (netns, target, size) => {
        const args = ['-c', '1', '-W', '1', ...(size === undefined ? [] : ['-M', 'do', '-s', String(size)]), target];
        try {
          await fixture.runner.run({ command: 'ping', args, netns });
          return true;
        } catch {
          return false;
        }
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
