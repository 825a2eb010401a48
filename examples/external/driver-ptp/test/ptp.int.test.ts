import { FileStateStore, createNetMode, netnsPath, type Endpoint, type NetnsRef, type NetworkManager } from '@netmode/core';
import { createNetnsFixture, integrationAvailable, type HostSnapshot, type NetnsFixture } from '@netmode/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerPtpDriver } from '../src/index.js';
import { lastJson, nodeIn, tcpClient, tcpUpperServer, udpClient, udpUpperServer } from './processes.js';

const GATEWAY = '10.221.0.1';

interface JsonRoute {
  dst: string;
  gateway?: string;
  dev: string;
  scope?: string;
}
interface JsonAddress {
  ifname: string;
  master?: string;
  linkinfo?: { info_kind?: string };
  addr_info: { family: string; local: string; prefixlen: number; scope: string }[];
}

const bare = (cidr: string | undefined): string => String(cidr).replace(/\/\d+$/, '');
const hostVeth = (endpoint: Endpoint): string => endpoint.interfaces.find((i) => i.side === 'host')?.name ?? '';

describe.skipIf(!integrationAvailable())('ptp on the real kernel', () => {
  let fixture: NetnsFixture;
  let netmode: NetworkManager;
  let before: HostSnapshot;

  const json = async <T>(netns: NetnsRef, ...args: string[]): Promise<T[]> =>
    JSON.parse((await fixture.ip(netns, '-json', ...args)) || '[]') as T[];
  /** `ping -c 1` from a namespace: its output, or undefined when no reply came. */
  const ping = async (from: NetnsRef, to: string): Promise<string | undefined> => {
    try {
      return (await fixture.runner.run({ command: 'ping', args: ['-c', '1', '-W', '1', to], netns: from })).stdout;
    } catch {
      return undefined;
    }
  };
  /** Deletes a namespace the test made to play the runtime's. */
  const dropNetns = async (netns: NetnsRef) => {
    if (netns.kind === 'named') await fixture.runner.run({ command: 'ip', args: ['netns', 'delete', netns.name] });
  };
  const forwarding = (on: boolean) =>
    fixture.runner.run({ command: 'sysctl', args: ['-q', '-w', `net.ipv4.ip_forward=${on ? 1 : 0}`], netns: fixture.hostNetns });

  beforeAll(async () => {
    fixture = await createNetnsFixture();
    netmode = createNetMode({
      drivers: [registerPtpDriver],
      hostNetns: fixture.hostNetns,
      stateDir: fixture.stateDir,
      namePrefix: fixture.prefix,
    });
    await netmode.createNetwork({ name: 'routed', driver: 'ptp', subnets: [{ subnet: '10.221.0.0/24' }] });
    before = await fixture.snapshot();
  });
  afterEach(async () => {
    // Every test disconnects what it connected: nothing of it is left in the host namespace.
    for (const endpoint of await netmode.list()) await netmode.disconnect(endpoint.containerId);
    expect(await fixture.settle(before)).toEqual(before);
  });
  afterAll(async () => {
    await fixture?.cleanup();
  });

  it('lays the pair out as routed point-to-point: /32s, a scope-link gateway, a host route, no bridge', async () => {
    const a = await netmode.connect('pt-a', 'routed');
    const veth = hostVeth(a);
    const address = bare(a.addresses[0]);
    expect(a.addresses).toEqual([expect.stringMatching(/^10\.221\.0\.\d+\/32$/)]);
    const [inside] = await json<JsonAddress>(a.netns, 'address', 'show', 'dev', 'eth0');
    expect(inside?.addr_info.filter((i) => i.family === 'inet').map((i) => `${i.local}/${i.prefixlen}`)).toEqual([`${address}/32`]);
    expect((await json<JsonRoute>(a.netns, '-4', 'route', 'show')).map((r) => [r.dst, r.gateway, r.dev, r.scope])).toEqual([
      ['default', GATEWAY, 'eth0', undefined],
      [GATEWAY, undefined, 'eth0', 'link'],
    ]);
    const [host] = await json<JsonAddress>(fixture.hostNetns, '-details', 'address', 'show', 'dev', veth);
    expect(host?.linkinfo?.info_kind).toBe('veth');
    expect(host?.master).toBeUndefined();
    expect(host?.addr_info.filter((i) => i.family === 'inet').map((i) => [`${i.local}/${i.prefixlen}`, i.scope])).toEqual([
      [`${GATEWAY}/32`, 'link'],
    ]);
    expect((await json<JsonRoute>(fixture.hostNetns, '-4', 'route', 'show')).map((r) => [r.dst, r.dev, r.scope])).toEqual([
      [address, veth, 'link'],
    ]);
    expect(await netmode.check('pt-a')).toEqual({ ok: true, problems: [] });
  });

  it('a container pings its gateway on the host, and TCP and UDP flow between the host namespace and the container', async () => {
    const a = await netmode.connect('pt-a', 'routed');
    const address = bare(a.addresses[0]);
    expect(await ping(a.netns, GATEWAY)).toMatch(/1 received/);

    // TCP: a server in the container, a client in the host namespace. The
    // host's address towards the container is the gateway: the only address
    // on that veth, picked for the scope-link host route.
    const tcpServer = await nodeIn(a.netns, tcpUpperServer(address, 7001), 'ready');
    const tcp = await nodeIn(fixture.hostNetns, tcpClient(address, 7001, 'over tcp'));
    try {
      expect(lastJson(await tcp.done)).toEqual({ reply: 'OVER TCP', local: GATEWAY });
      expect(lastJson(await tcpServer.done)).toEqual({ from: GATEWAY });
    } finally {
      await tcp.stop();
      await tcpServer.stop();
    }

    // UDP: a server on the gateway address in the host namespace, a client in the container.
    const udpServer = await nodeIn(fixture.hostNetns, udpUpperServer(GATEWAY, 7002), 'ready');
    const udp = await nodeIn(a.netns, udpClient(GATEWAY, 7002, 'over udp'));
    try {
      expect(lastJson(await udp.done)).toEqual({ reply: 'OVER UDP' });
      expect(lastJson(await udpServer.done)).toEqual({ from: address });
    } finally {
      await udp.stop();
      await udpServer.stop();
    }
  });

  it('two containers on one network reach each other only through the host', async () => {
    const a = await netmode.connect('pt-a', 'routed');
    const b = await netmode.connect('pt-b', 'routed');
    const toB = bare(b.addresses[0]);
    // The route the kernel picks goes via the gateway, not on-link.
    expect(await fixture.ip(a.netns, 'route', 'get', toB)).toMatch(new RegExp(`^${toB} via ${GATEWAY} dev eth0 `));
    // One hop: the host's forwarding decremented the TTL once (64 → 63).
    expect(await ping(a.netns, toB)).toMatch(/ttl=63 /);
    expect(await ping(a.netns, GATEWAY)).toMatch(/ttl=64 /);
    // No layer 2 between them: a learned only the gateway's MAC.
    const neighbours = await json<{ dst: string }>(a.netns, 'neigh', 'show', 'dev', 'eth0');
    expect(neighbours.map((n) => n.dst)).toEqual([GATEWAY]);
    // And with the host's forwarding off, they are cut off from each other, not from the host.
    await forwarding(false);
    try {
      expect(await ping(a.netns, toB)).toBeUndefined();
      expect(await ping(a.netns, GATEWAY)).toMatch(/1 received/);
    } finally {
      await forwarding(true);
    }
    expect(await ping(b.netns, bare(a.addresses[0]))).toMatch(/ttl=63 /);
  });

  it('puts its end into a namespace the runtime made, and takes only that away', async () => {
    const runtimeNs = await fixture.createNetns('rt');
    try {
      const path = { kind: 'path', path: netnsPath(runtimeNs) } as const;
      const endpoint = await netmode.connect('adopted', 'routed', { netns: path, ip: '10.221.0.50', ifname: 'ptp0' });
      expect(endpoint).toMatchObject({ netns: path, ownsNetns: false, addresses: ['10.221.0.50/32'] });
      expect(await ping(fixture.hostNetns, '10.221.0.50')).toMatch(/1 received/);
      expect(await ping(runtimeNs, GATEWAY)).toMatch(/1 received/);
      await netmode.disconnect('adopted');
      expect((await json<JsonAddress>(runtimeNs, 'link', 'show')).map((l) => l.ifname)).toEqual(['lo']);
    } finally {
      await dropNetns(runtimeNs);
    }
  });

  it('check reports a host route or gateway address removed behind its back; disconnect still succeeds', async () => {
    const a = await netmode.connect('pt-a', 'routed');
    const veth = hostVeth(a);
    const address = bare(a.addresses[0]);
    await fixture.ip(fixture.hostNetns, 'route', 'del', address, 'dev', veth);
    expect(await netmode.check('pt-a')).toEqual({ ok: false, problems: [`the host route to ${address} via ${veth} is missing`] });
    await fixture.ip(fixture.hostNetns, 'address', 'del', `${GATEWAY}/32`, 'dev', veth);
    expect((await netmode.check('pt-a')).problems).toContain(`host interface ${veth} lost the gateway address ${GATEWAY}/32`);
    await fixture.ip(a.netns, 'link', 'delete', 'eth0');
    expect((await netmode.check('pt-a')).problems).toEqual([
      'interface eth0 is missing in the sandbox',
      `host interface ${veth} is missing`,
    ]);
  });

  it('gc removes the pair of an endpoint whose record was lost, and leaves live endpoints alone', async () => {
    // The lost endpoint lives in a namespace of the runtime's, which the
    // manager's own gc of sandboxes never touches: only the driver's gc can
    // find its pair.
    const runtimeNs = await fixture.createNetns('gc');
    try {
      await netmode.connect('pt-live', 'routed');
      const lost = await netmode.connect('pt-lost', 'routed', { netns: { kind: 'path', path: netnsPath(runtimeNs) } });
      // The record vanishes (a lost state file); the pair stays, marked as this instance's.
      await new FileStateStore(fixture.stateDir).transaction(async (tx) => tx.delete(`endpoints/${lost.containerId}/${lost.network}`));
      const report = await netmode.gc(['pt-live']);
      expect(report.removedObjects).toEqual([`link ${hostVeth(lost)}`]);
      expect(report.releasedLeases).toBe(1);
      expect((await json<JsonAddress>(runtimeNs, 'link', 'show')).map((l) => l.ifname)).toEqual(['lo']);
      expect(await netmode.check('pt-live')).toEqual({ ok: true, problems: [] });
    } finally {
      await dropNetns(runtimeNs);
    }
  });
});
