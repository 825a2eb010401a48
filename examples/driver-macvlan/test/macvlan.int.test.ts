import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, createNetMode, isNetModeError, netnsPath, type NetnsRef, type NetworkManager } from '@netmode/core';
import { createNetnsFixture, integrationAvailable, type NetnsFixture } from '@netmode/core/testing';
import { testNetworkDriver } from '@netmode/core/testing/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerMacvlanDriver } from '../src/index.js';

/**
 * Makes a parent for macvlan networks in the fixture's host namespace: a
 * veth pair whose other end is `eth0` of `peerNetns` (the "outside network"),
 * or another link of the host namespace when no peer namespace is given.
 */
async function makeParent(fixture: NetnsFixture, parent: string, peerNetns?: NetnsRef): Promise<void> {
  const peer = peerNetns ? ['name', 'eth0', 'netns', netnsPath(peerNetns)] : ['name', `${parent}p`];
  await fixture.ip(fixture.hostNetns, 'link', 'add', parent, 'up', 'type', 'veth', 'peer', ...peer);
  if (peerNetns) await fixture.ip(peerNetns, 'link', 'set', 'eth0', 'up');
  else await fixture.ip(fixture.hostNetns, 'link', 'set', `${parent}p`, 'up');
}

/**
 * A macvlan network `name` (`NET.0/24`, gateway `NET.1`) on a new parent
 * whose far end is `eth0` of a new namespace holding the gateway address, as
 * a LAN's router would. Resolves to that far namespace.
 */
async function lanOnNewParent(
  fixture: NetnsFixture,
  netmode: NetworkManager,
  lan: { name: string; parent: string; far: string; net: string; mode?: string },
): Promise<NetnsRef> {
  const far = await fixture.createNetns(lan.far);
  await makeParent(fixture, lan.parent, far);
  await fixture.ip(far, 'address', 'add', `${lan.net}.1/24`, 'dev', 'eth0');
  await netmode.createNetwork({
    name: lan.name,
    driver: 'macvlan',
    subnets: [{ subnet: `${lan.net}.0/24`, gateway: `${lan.net}.1` }],
    options: { parent: lan.parent, ...(lan.mode === undefined ? {} : { mode: lan.mode }) },
  });
  return far;
}

testNetworkDriver({
  register: registerMacvlanDriver,
  network: {
    driver: 'macvlan',
    subnets: [{ subnet: '10.212.0.0/24', gateway: '10.212.0.1' }],
    options: { parent: 'mvpar0' },
  },
  // A macvlan network needs its parent link in the host namespace before
  // createNetwork: the suite calls prepareHost before the "before" snapshot.
  prepareHost: (fixture) => makeParent(fixture, 'mvpar0'),
  createsSandbox: true,
  invalidOptions: [{ ports: [{ hostPort: 8080, containerPort: 80 }] }, { ip: '10.9.9.9' }, { ip: 'fd00::2' }],
});

const ping = async (fixture: NetnsFixture, from: NetnsRef, to: string): Promise<boolean> => {
  try {
    await fixture.runner.run({ command: 'ping', args: ['-c', '1', '-W', '1', to], netns: from });
    return true;
  } catch {
    return false;
  }
};

interface JsonLink {
  ifname: string;
  address: string;
  flags: string[];
  linkinfo?: { info_kind?: string; info_data?: { mode?: string } };
}

const links = async (fixture: NetnsFixture, netns: NetnsRef): Promise<JsonLink[]> =>
  JSON.parse(await fixture.ip(netns, '-json', '-details', 'link', 'show')) as JsonLink[];

const bare = (cidr: string | undefined): string => String(cidr).replace(/\/\d+$/, '');

describe.skipIf(!integrationAvailable())('macvlan on the real kernel', () => {
  let fixture: NetnsFixture;
  let outside: NetnsRef;
  let netmode: NetworkManager;

  beforeAll(async () => {
    fixture = await createNetnsFixture();
    netmode = createNetMode({
      drivers: [registerMacvlanDriver],
      hostNetns: fixture.hostNetns,
      stateDir: fixture.stateDir,
      namePrefix: fixture.prefix,
    });
    // The outside network: a namespace on the far end of the parent.
    outside = await lanOnNewParent(fixture, netmode, { name: 'lan', parent: 'mvlan0', far: 'out', net: '10.213.0' });
  });
  afterAll(async () => {
    await fixture?.cleanup();
  });

  it('two containers on one parent (bridge mode) reach each other, the outside network and its router', async () => {
    const before = await fixture.snapshot();
    const a = await netmode.connect('mv-a', 'lan');
    const b = await netmode.connect('mv-b', 'lan');
    try {
      const eth0 = (await links(fixture, a.netns)).find((l) => l.ifname === 'eth0');
      expect(eth0?.linkinfo).toMatchObject({ info_kind: 'macvlan', info_data: { mode: 'bridge' } });
      expect(eth0?.address).toBe('02:42:0a:d5:00:02');
      expect(a.addresses).toEqual(['10.213.0.2/24']);
      expect(a.gateways).toEqual(['10.213.0.1']);
      // Nothing of the endpoints shows in the host namespace: they were born in their sandboxes.
      expect((await fixture.snapshot()).links).toEqual(before.links);

      expect(await ping(fixture, a.netns, bare(b.addresses[0]))).toBe(true);
      expect(await ping(fixture, b.netns, bare(a.addresses[0]))).toBe(true);
      expect(await ping(fixture, outside, bare(a.addresses[0]))).toBe(true);
      expect(await ping(fixture, a.netns, '10.213.0.1')).toBe(true);
      expect(await netmode.check('mv-a')).toEqual({ ok: true, problems: [] });
    } finally {
      await netmode.disconnect('mv-a');
      await netmode.disconnect('mv-b');
    }
    expect(await fixture.settle(before)).toEqual(before);
  });

  it('private mode keeps containers on one parent apart, while both still reach the outside network', async () => {
    await lanOnNewParent(fixture, netmode, { name: 'priv', parent: 'mvpriv0', far: 'far', net: '10.214.0', mode: 'private' });
    const a = await netmode.connect('pv-a', 'priv');
    const b = await netmode.connect('pv-b', 'priv');
    try {
      expect(await ping(fixture, a.netns, '10.214.0.1')).toBe(true);
      expect(await ping(fixture, b.netns, '10.214.0.1')).toBe(true);
      expect(await ping(fixture, a.netns, bare(b.addresses[0]))).toBe(false);
    } finally {
      await netmode.disconnect('pv-a');
      await netmode.disconnect('pv-b');
    }
    await netmode.removeNetwork('priv');
    // The parent is the administrator's: removing the network leaves it alone.
    expect(await fixture.ip(fixture.hostNetns, 'link', 'show', 'mvpriv0')).toMatch(/mvpriv0/);
  });

  it('puts the macvlan into a namespace the runtime made, and takes only the macvlan away', async () => {
    const runtimeNs = await fixture.createNetns('rt');
    const path = { kind: 'path', path: netnsPath(runtimeNs) } as const;
    const endpoint = await netmode.connect('adopted', 'lan', { netns: path, ip: '10.213.0.50' });
    expect(endpoint).toMatchObject({ netns: path, ownsNetns: false, addresses: ['10.213.0.50/24'] });
    expect(await ping(fixture, outside, '10.213.0.50')).toBe(true);
    await netmode.disconnect('adopted');
    expect((await links(fixture, runtimeNs)).map((l) => l.ifname)).toEqual(['lo']);

    // An interface of that name already there is the runtime's: refused, and nothing changes.
    const error = await netmode.connect('adopted', 'lan', { netns: path, ifname: 'lo' }).catch((e: unknown) => e);
    expect(isNetModeError(error, ErrorCode.INVALID_CONFIG)).toBe(true);
    expect((await links(fixture, runtimeNs)).map((l) => l.ifname)).toEqual(['lo']);
    expect(await netmode.list()).toEqual([]);
  });

  it('reconnecting with the same static address waits while the old macvlan still holds its MAC', async () => {
    const first = await netmode.connect('again', 'lan', { ip: '10.213.0.77' });
    expect(first.interfaces[0]?.mac).toBe('02:42:0a:d5:00:4d');
    // An open descriptor keeps the old namespace, and so its macvlan with the
    // same MAC, alive after disconnect: what the kernel's own removal does
    // for ~30 ms, stretched so the test can see the wait.
    const held = await open(netnsPath(first.netns), 'r');
    await netmode.disconnect('again');
    let refused = 0;
    const count = (e: { failed: boolean }) => (refused += e.failed ? 1 : 0);
    netmode.events.on('command:exec', count);
    const released = sleep(200).then(() => held.close());
    try {
      const second = await netmode.connect('again', 'lan', { ip: '10.213.0.77' });
      expect(second.interfaces[0]?.mac).toBe('02:42:0a:d5:00:4d');
    } finally {
      netmode.events.off('command:exec', count);
      await released;
    }
    expect(refused).toBeGreaterThan(0);
    expect(await ping(fixture, outside, '10.213.0.77')).toBe(true);
    await netmode.disconnect('again');
  });

  it('reports a macvlan deleted behind its back, and disconnect still succeeds', async () => {
    const endpoint = await netmode.connect('vanishing', 'lan');
    await fixture.ip(endpoint.netns, 'link', 'delete', 'eth0');
    expect(await netmode.check('vanishing')).toEqual({ ok: false, problems: ['interface eth0 is missing in the sandbox'] });
    await netmode.disconnect('vanishing');
    expect(await netmode.list()).toEqual([]);
  });

  it('passthru: one endpoint takes the parent over with its MAC; a second is refused by the kernel and rolled back', async () => {
    await lanOnNewParent(fixture, netmode, { name: 'pt', parent: 'mvpt0', far: 'pt', net: '10.215.0', mode: 'passthru' });
    const parentMac = (await links(fixture, fixture.hostNetns)).find((l) => l.ifname === 'mvpt0')?.address;
    const before = await fixture.snapshot();
    const one = await netmode.connect('pt-1', 'pt');
    try {
      expect((await links(fixture, one.netns)).find((l) => l.ifname === 'eth0')?.address).toBe(parentMac);
      expect(await ping(fixture, one.netns, '10.215.0.1')).toBe(true);
      const error = await netmode.connect('pt-2', 'pt').catch((e: unknown) => e);
      expect(isNetModeError(error, ErrorCode.COMMAND_FAILED)).toBe(true);
      expect(isNetModeError(error) && error.rolledBack).toBe(true);
      expect((await netmode.list()).map((e) => e.containerId)).toEqual(['pt-1']);
    } finally {
      await netmode.disconnect('pt-1');
    }
    expect(await fixture.settle(before)).toEqual(before);
    await netmode.removeNetwork('pt');
  });
});
