import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  createNetMode,
  ErrorCode,
  isNetModeError,
  netnsPath,
  resolveToolPath,
  type Endpoint,
  type NetnsRef,
  type NetworkManager,
} from '@netmode/core';
import { registerContainerDriver } from '@netmode/driver-container';
import { registerHostDriver } from '@netmode/driver-host';
import { registerNoneDriver } from '@netmode/driver-none';
import { integrationAvailable } from '@netmode/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBridgeDriver } from '../src/index.js';
import { ADDR, createTopology, type Topology } from './support/topology.js';

// A container on several networks (issue #12): one sandbox, one endpoint per
// network, `connect` and `disconnect` while its process runs, the default
// route by gateway priority, and the networks kept apart.

const CHAT = fileURLToPath(new URL('./support/chat.mjs', import.meta.url));
const FRONT = { subnet: '10.241.1.0/24', gateway: '10.241.1.1' };
const BACK = { subnet: '10.241.2.0/24', gateway: '10.241.2.1' };

/** A long-lived TCP conversation: send a line, wait for its echo on the same connection. */
interface Chat {
  say(line: string): Promise<boolean>;
  stop(): Promise<void>;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe.skipIf(!integrationAvailable()).each(['nftables', 'iptables'] as const)('a container on several networks (%s)', (firewall) => {
  let topo: Topology;
  let netmode: NetworkManager;
  const children = new Set<ChildProcess>();
  const address = (endpoint: Endpoint) => (endpoint.addresses[0] as string).split('/')[0] as string;
  const ifnameOf = (endpoint: Endpoint) => endpoint.interfaces.find((i) => i.side === 'sandbox')?.name;
  const ping = (netns: NetnsRef, target: string) => topo.ping(netns, target);
  const defaultRoute = async (netns: NetnsRef) => (await topo.run(netns, 'ip', '-4', 'route', 'show', 'default')).trim();
  const links = async (netns: NetnsRef) =>
    (await topo.run(netns, 'ip', '-o', 'link', 'show'))
      .split('\n')
      .map((line) => line.split(': ')[1]?.split('@')[0])
      .filter((name): name is string => Boolean(name))
      .sort();

  /** Starts `chat.mjs` in `netns`; resolves once it printed `expect`. */
  const startChat = (netns: NetnsRef, args: string[], expectLine: string) =>
    new Promise<{ child: ChildProcess; lines: string[] }>((resolve, reject) => {
      const child = spawn(resolveToolPath('nsenter'), [`--net=${netnsPath(netns)}`, '--', process.execPath, CHAT, ...args]);
      children.add(child);
      const lines: string[] = [];
      let partial = '';
      child.stdout?.on('data', (d: Buffer) => {
        const parts = (partial + d.toString()).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) {
          lines.push(line);
          if (line === expectLine) resolve({ child, lines });
        }
      });
      child.on('exit', (code) => reject(new Error(`chat ${args.join(' ')} exited ${code}: ${lines.join(' | ')}`)));
    });
  const stopChild = async (child: ChildProcess) => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGKILL');
      await exited;
    }
    children.delete(child);
  };
  const echoServer = async (netns: NetnsRef, port: number) => (await startChat(netns, ['echo', String(port)], 'ready')).child;
  const chat = async (netns: NetnsRef, host: string, port: number): Promise<Chat> => {
    const { child, lines } = await startChat(netns, ['client', host, String(port)], 'connected');
    return {
      say: async (line) => {
        child.stdin?.write(`${line}\n`);
        for (let waited = 0; waited < 3000; waited += 20) {
          if (lines.includes(line)) return true;
          if (child.exitCode !== null) return false;
          await new Promise((done) => setTimeout(done, 20));
        }
        return false;
      },
      stop: () => stopChild(child),
    };
  };

  beforeAll(async () => {
    topo = await createTopology();
    netmode = createNetMode({
      drivers: [
        (c) => registerBridgeDriver(c, { firewall, bip: '10.241.0.1/24' }),
        registerHostDriver,
        registerNoneDriver,
        registerContainerDriver,
      ],
      hostNetns: topo.fixture.hostNetns,
      stateDir: topo.fixture.stateDir,
      namePrefix: topo.fixture.prefix,
    });
    await netmode.createNetwork({ name: 'front', driver: 'bridge', subnets: [FRONT] });
    await netmode.createNetwork({ name: 'back', driver: 'bridge', subnets: [BACK] });
  });
  afterAll(async () => {
    for (const child of children) await stopChild(child);
    await topo?.cleanup();
  });

  it('connect gives a running container eth1 with its address and routes, and its TCP connection on eth0 lives on', async () => {
    const app = await netmode.connect('app', 'front');
    const fe = await netmode.connect('fe', 'front');
    const db = await netmode.connect('db', 'back');
    const server = await echoServer(app.netns, 7000);
    const talk = await chat(fe.netns, address(app), 7000);
    try {
      expect(await talk.say('before')).toBe(true);
      const back = await netmode.connect('app', 'back');
      expect(ifnameOf(back)).toBe('eth1');
      expect(back.netns).toEqual(app.netns);
      expect(back.ownsNetns).toBe(false);
      expect(back.defaultRoute).toBe(false);
      expect(await topo.run(app.netns, 'ip', '-4', '-o', 'address', 'show', 'dev', 'eth1')).toContain(back.addresses[0]);
      // The new network's subnet is on eth1; the default route stays on the first network.
      expect(await topo.run(app.netns, 'ip', '-4', 'route', 'show', BACK.subnet)).toContain('dev eth1');
      expect(await defaultRoute(app.netns)).toBe(`default via ${FRONT.gateway} dev eth0`);
      // The process never stopped, and the connection it had is the one that answers.
      expect(server.exitCode).toBeNull();
      expect(await talk.say('after')).toBe(true);

      const sandbox = await netmode.inspect('app');
      expect(sandbox.endpoints.map((e) => [e.network, ifnameOf(e), e.defaultRoute])).toEqual([
        ['front', 'eth0', true],
        ['back', 'eth1', false],
      ]);
      expect(sandbox.defaultRoute).toMatchObject({ network: 'front', gateway: FRONT.gateway, ifname: 'eth0' });

      // app reaches both networks; fe and db, each on one, do not reach each other.
      expect(await ping(app.netns, address(db))).toBe(true);
      expect(await ping(app.netns, address(fe))).toBe(true);
      expect(await ping(db.netns, address(back))).toBe(true);
      expect(await ping(fe.netns, address(db))).toBe(false);
      expect(await ping(db.netns, address(fe))).toBe(false);
    } finally {
      await talk.stop();
      await stopChild(server);
    }
  });

  it('disconnect from one network removes only that endpoint and its ports; the rest keeps working', async () => {
    const app = await netmode.inspectEndpoint('app', 'front');
    const fe = await netmode.inspectEndpoint('fe');
    const db = await netmode.inspectEndpoint('db');
    const server = await echoServer(app.netns, 7001);
    const talk = await chat(fe.netns, address(app), 7001);
    try {
      expect(await talk.say('one')).toBe(true);
      await netmode.disconnect('app', 'back');
      expect(await links(app.netns)).toEqual(['eth0', 'lo']);
      expect(await ping(app.netns, address(db))).toBe(false);
      expect(await talk.say('two')).toBe(true);
      expect((await netmode.inspect('app')).endpoints.map((e) => e.network)).toEqual(['front']);
      // Not on it any more: a clear error, nothing changed.
      const error = await rejection(netmode.disconnect('app', 'back'));
      expect(isNetModeError(error, ErrorCode.ENDPOINT_NOT_FOUND)).toBe(true);
      expect((error as Error).message).toBe('container app is not on network back');
      // A freed name is used again by the next connect.
      const again = await netmode.connect('app', 'back');
      expect(ifnameOf(again)).toBe('eth1');
    } finally {
      await talk.stop();
      await stopChild(server);
    }
  });

  it('published ports belong to their endpoint: the same port on two networks is two mappings, and goes with its endpoint', async () => {
    const front = await netmode.connect('pub', 'front', { ports: [{ hostPort: 8181, containerPort: 80 }] });
    const back = await netmode.connect('pub', 'back', { ports: [{ hostPort: 8182, containerPort: 80 }] });
    expect(front.ports).toEqual([{ hostPort: 8181, containerPort: 80, count: 1, protocol: 'tcp' }]);
    expect(back.ports).toEqual([{ hostPort: 8182, containerPort: 80, count: 1, protocol: 'tcp' }]);
    const stop = await topo.serve(front.netns, 'tcp-serve', 80);
    try {
      expect((await topo.ask(topo.ext, 'tcp-ask', ADDR.host, 8181)).ok).toBe(true);
      expect((await topo.ask(topo.ext, 'tcp-ask', ADDR.host, 8182)).ok).toBe(true);
      await netmode.disconnect('pub', 'back');
      expect((await topo.ask(topo.ext, 'tcp-ask', ADDR.host, 8182)).ok).toBe(false);
      expect((await topo.ask(topo.ext, 'tcp-ask', ADDR.host, 8181)).ok).toBe(true);
      // Its host port is free again.
      const other = await netmode.connect('pub2', 'back', { ports: [{ hostPort: 8182, containerPort: 80 }] });
      expect(other.ports[0]?.hostPort).toBe(8182);
    } finally {
      await stop();
      await netmode.disconnect('pub2');
      await netmode.disconnect('pub');
    }
  });

  it('a container id of the longest length makes endpoint ids that every rule and mark takes', async () => {
    const id = `l${'o'.repeat(126)}g`;
    const front = await netmode.connect(id, 'front', { ports: [{ hostPort: 8183, containerPort: 80 }] });
    const back = await netmode.connect(id, 'back', { ports: [{ hostPort: 8184, containerPort: 80 }] });
    // Cut so that `endpoint:ID` fits an nft comment (128 characters).
    expect(back.id).toMatch(new RegExp(`^${id.slice(0, 88)}\\.[0-9a-f]{12}@[0-9a-f]{12}$`));
    expect(back.id.length).toBe(114);
    const stop = await topo.serve(front.netns, 'tcp-serve', 80);
    try {
      for (const port of [8183, 8184]) expect((await topo.ask(topo.ext, 'tcp-ask', ADDR.host, port)).ok).toBe(true);
      expect(await netmode.check(id, 'back')).toEqual({ ok: true, problems: [] });
    } finally {
      await stop();
      await netmode.disconnect(id);
    }
    expect((await netmode.reconcile()).failures).toEqual([]);
  });

  it('the default route follows --gw-priority and moves to the next endpoint when its own goes', async () => {
    const first = await netmode.connect('gw', 'front');
    expect(await defaultRoute(first.netns)).toBe(`default via ${FRONT.gateway} dev eth0`);
    // A higher priority takes the route over at connect.
    const preferred = await netmode.connect('gw', 'back', { gwPriority: 10 });
    expect(preferred.defaultRoute).toBe(true);
    expect(await defaultRoute(first.netns)).toBe(`default via ${BACK.gateway} dev eth1`);
    expect((await netmode.inspectEndpoint('gw', 'front')).defaultRoute).toBe(false);
    // Its endpoint goes: the route moves back, in the same call.
    await netmode.disconnect('gw', 'back');
    expect(await defaultRoute(first.netns)).toBe(`default via ${FRONT.gateway} dev eth0`);
    expect((await netmode.inspectEndpoint('gw', 'front')).defaultRoute).toBe(true);
    // An equal priority does not take it (ties go to the earliest)...
    await netmode.connect('gw', 'back');
    expect(await defaultRoute(first.netns)).toBe(`default via ${FRONT.gateway} dev eth0`);
    // ...but the first endpoint going hands it on, and the sandbox with it.
    await netmode.disconnect('gw', 'front');
    expect(await defaultRoute(first.netns)).toBe(`default via ${BACK.gateway} dev eth1`);
    const last = await netmode.inspectEndpoint('gw');
    expect(last).toMatchObject({ network: 'back', ownsNetns: true, defaultRoute: true });
    await netmode.disconnect('gw');
    expect(await topo.run(topo.fixture.hostNetns, 'ip', 'netns', 'list')).not.toContain((first.netns as { name: string }).name);
  });

  it('an internal network never provides the default route', async () => {
    await netmode.createNetwork({ name: 'inner', driver: 'bridge', internal: true, subnets: [{ subnet: '10.241.3.0/24' }] });
    const inner = await netmode.connect('in', 'inner', { gwPriority: 100 });
    expect(inner.defaultRoute).toBe(false);
    expect(await defaultRoute(inner.netns)).toBe('');
    const front = await netmode.connect('in', 'front');
    expect(front.defaultRoute).toBe(true);
    expect(await defaultRoute(inner.netns)).toBe(`default via ${FRONT.gateway} dev eth1`);
    await netmode.disconnect('in');
    await netmode.removeNetwork('inner');
  });

  it('joiners of container:X see every network of X, those connected later too; X leaving keeps them for the joiner', async () => {
    const owner = await netmode.connect('x', 'front');
    await netmode.connect('jx', 'container:x');
    await netmode.connect('x', 'back');
    const joined = await netmode.inspect('jx');
    expect(joined.joinedTo).toBe('x');
    expect(joined.netns).toEqual(owner.netns);
    expect(await links(joined.netns)).toEqual(['eth0', 'eth1', 'lo']);
    expect((await netmode.inspect('x')).joiners).toEqual(['jx']);
    // X leaves every network: its endpoints stay, orphaned, for the joiner.
    await netmode.disconnect('x');
    expect((await netmode.inspect('x')).endpoints.map((e) => e.status)).toEqual(['orphaned', 'orphaned']);
    expect(await links(joined.netns)).toEqual(['eth0', 'eth1', 'lo']);
    // The joiner going last takes them all with it.
    await netmode.disconnect('jx');
    expect(isNetModeError(await rejection(netmode.inspect('x')), ErrorCode.ENDPOINT_NOT_FOUND)).toBe(true);
    expect(await topo.run(topo.fixture.hostNetns, 'ip', 'netns', 'list')).not.toContain((owner.netns as { name: string }).name);
  });

  it('refuses what cannot be, with a clear error, and changes nothing', async () => {
    await netmode.connect('solo', 'front', { ifname: 'eth5' });
    await netmode.connect('hosted', 'host');
    const before = { endpoints: await netmode.list(), hostLinks: await links(topo.fixture.hostNetns) };
    // One at a time: each must meet the state the others left, unchanged.
    const cases: [() => Promise<unknown>, string, RegExp][] = [
      [() => netmode.connect('solo', 'front'), ErrorCode.ENDPOINT_EXISTS, /already has an endpoint on network front/],
      [
        () => netmode.connect('solo', 'back', { ifname: 'eth5' }),
        ErrorCode.INVALID_CONFIG,
        /eth5 is the interface of container solo on network front/,
      ],
      [() => netmode.connect('solo', 'none'), ErrorCode.INVALID_CONFIG, /whole sandbox/],
      [() => netmode.connect('solo', 'host'), ErrorCode.INVALID_CONFIG, /whole sandbox/],
      [() => netmode.connect('hosted', 'front'), ErrorCode.INVALID_CONFIG, /host is a whole sandbox/],
      [
        () => netmode.connect('solo', 'back', { netns: { kind: 'named', name: `${topo.fixture.prefix}elsewhere` } }),
        ErrorCode.INVALID_CONFIG,
        /already has its sandbox/,
      ],
      [() => netmode.disconnect('solo', 'back'), ErrorCode.ENDPOINT_NOT_FOUND, /not on network back/],
      [() => netmode.disconnect('nobody', 'front'), ErrorCode.ENDPOINT_NOT_FOUND, /not on network front/],
    ];
    for (const [attempt, code, message] of cases) {
      const error = await rejection(attempt());
      expect(isNetModeError(error, code as never), String(error)).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
    expect(await netmode.list()).toEqual(before.endpoints);
    expect(await links(topo.fixture.hostNetns)).toEqual(before.hostLinks);
    await netmode.disconnect('solo');
    await netmode.disconnect('hosted');
  });

  it('disconnecting every container leaves nothing of them in the host namespace', async () => {
    for (const id of ['app', 'fe', 'db']) await netmode.disconnect(id);
    expect(await netmode.list()).toEqual([]);
    // A deleted namespace's veth pair goes a moment later, in the kernel's own time.
    const left = async () => (await links(topo.fixture.hostNetns)).filter((name) => name.startsWith(`${topo.fixture.prefix}v`));
    for (const deadline = Date.now() + 3000; (await left()).length > 0 && Date.now() < deadline;)
      await new Promise((done) => setTimeout(done, 20));
    expect(await left()).toEqual([]);
  });
});
