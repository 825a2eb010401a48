import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, createNetMode, isNetModeError, type NetworkManager, type WarningEvent } from '@netmode/core';
import { integrationAvailable } from '@netmode/core/testing';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { registerBridgeDriver } from '../src/index.js';
import { ADDR, createTopology, type Topology } from './support/topology.js';

// State and kernel damaged behind netmode's back: records of the wrong
// shape, lost lease records, a veth set down or moved, a route that takes
// part of a subnet. Each is seen and reported or repaired for real.

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (e: unknown) => e,
  );
}

describe.skipIf(!integrationAvailable())('damaged state and kernel', () => {
  let topo: Topology;
  let netmode: NetworkManager;
  const warnings: WarningEvent[] = [];
  const file = (...parts: string[]) => join(topo.fixture.stateDir, ...parts);

  beforeAll(async () => {
    topo = await createTopology();
    netmode = createNetMode({
      drivers: [(c) => registerBridgeDriver(c, { bip: '10.241.0.1/24' })],
      hostNetns: topo.fixture.hostNetns,
      stateDir: topo.fixture.stateDir,
      namePrefix: topo.fixture.prefix,
    });
    netmode.events.on('warning', (w) => warnings.push(w));
  });
  afterAll(async () => {
    await topo?.cleanup();
  });

  it('rebuilds address and port leases from the endpoint records after the lease files were deleted', async () => {
    const a = await netmode.connect('la', 'bridge', { ports: [{ hostPort: 8095, containerPort: 80 }] });
    const b = await netmode.connect('lb', 'bridge');
    for (const name of await readdir(file('ipam', 'subnets'))) await rm(file('ipam', 'subnets', name));
    await rm(file('ports', 'tcp.json'));

    const report = await netmode.reconcile();
    // The subnet, two addresses and one port range.
    expect(report.restoredLeases).toBe(4);
    expect(report.failures).toEqual([]);
    const c = await netmode.connect('lc', 'bridge');
    expect([a.addresses[0], b.addresses[0]]).not.toContain(c.addresses[0]);
    const taken = await rejection(netmode.connect('ld', 'bridge', { ports: [{ hostPort: 8095, containerPort: 80 }] }));
    expect(isNetModeError(taken, ErrorCode.PORT_ALLOCATED)).toBe(true);
    for (const id of ['la', 'lb', 'lc']) await netmode.disconnect(id);
  });

  it.each([
    ['null', 'null'],
    ['an empty object', '{}'],
    ['a field of the wrong type', JSON.stringify({ containerId: 'bad', status: 42 })],
    ['not JSON at all', '{"containerId": '],
  ])('a damaged endpoint record (%s) is reported by name and blocks nothing else', async (_what, text) => {
    await netmode.connect('good', 'bridge');
    await netmode.createNetwork({ name: 'spare', driver: 'bridge', subnets: [{ subnet: '10.242.0.0/24' }] });
    const path = file('endpoints', 'bad', 'bridge.json');
    await mkdir(file('endpoints', 'bad'), { recursive: true });
    await writeFile(path, text);
    onTestFinished(() => rm(file('endpoints', 'bad'), { recursive: true, force: true }));
    warnings.length = 0;

    const inspected = await rejection(netmode.inspectEndpoint('bad'));
    expect(isNetModeError(inspected, ErrorCode.STATE_CORRUPT)).toBe(true);
    expect((inspected as Error).message).toContain(path);
    expect(isNetModeError(await rejection(netmode.disconnect('bad')), ErrorCode.STATE_CORRUPT)).toBe(true);
    expect((await netmode.list()).map((e) => e.containerId)).toEqual(['good']);
    expect(warnings).toEqual([expect.objectContaining({ code: 'STATE_CORRUPT', message: expect.stringContaining(path) })]);

    const reconciled = await netmode.reconcile();
    // good was whole: nothing to repair.
    expect(reconciled.repaired).toEqual([]);
    expect(reconciled.failures).toEqual([expect.stringContaining(path)]);
    const collected = await netmode.gc(['good']);
    expect(collected.failures).toEqual([expect.stringContaining(path)]);
    // Unrelated work goes on.
    await netmode.removeNetwork('spare');
    expect(await netmode.check('good')).toEqual({ ok: true, problems: [] });
    await rm(file('endpoints', 'bad'), { recursive: true });
    await netmode.disconnect('good');
  });

  it('a damaged port record stops a publishing connect with ERR_STATE_CORRUPT naming it, and leaves nothing', async () => {
    const before = await topo.fixture.snapshot();
    const path = file('ports', 'tcp.json');
    await writeFile(path, '{}');
    try {
      const error = await rejection(netmode.connect('pub', 'bridge', { ports: [{ hostPort: 8096, containerPort: 80 }] }));
      expect(isNetModeError(error, ErrorCode.STATE_CORRUPT)).toBe(true);
      expect((error as Error).message).toContain(path);
      expect(await netmode.list()).toEqual([]);
      expect(await topo.fixture.settle(before)).toEqual(before);
      // A connect that publishes nothing, and its disconnect, do not need that record.
      warnings.length = 0;
      await netmode.connect('plain', 'bridge');
      await netmode.disconnect('plain');
      expect(warnings).toEqual([expect.objectContaining({ code: 'STATE_CORRUPT', message: expect.stringContaining(path) })]);
    } finally {
      await rm(path);
    }
  });

  it('a damaged network record is reported, and the other networks still work', async () => {
    const path = file('networks', 'broken.json');
    await writeFile(path, '{}');
    try {
      warnings.length = 0;
      expect((await netmode.listNetworks()).map((n) => n.name)).toEqual(['bridge']);
      expect(warnings).toEqual([expect.objectContaining({ code: 'STATE_CORRUPT', message: expect.stringContaining(path) })]);
      const error = await rejection(netmode.connect('x', 'broken'));
      expect(isNetModeError(error, ErrorCode.STATE_CORRUPT)).toBe(true);
      await netmode.connect('y', 'bridge');
      await netmode.disconnect('y');
    } finally {
      await rm(path);
    }
  });

  it('puts a host veth back up and on its own bridge, for real', async () => {
    const web = await netmode.connect('veth', 'bridge');
    const veth = String(web.driverData['hostVeth']);
    const bridge = String(web.driverData['bridge']);
    const other = `${topo.fixture.prefix}xbr`;
    await topo.run(topo.fixture.hostNetns, 'ip', 'link', 'add', other, 'up', 'type', 'bridge');
    const damages: [string, string[]][] = [
      ['set down', ['ip', 'link', 'set', 'dev', veth, 'down']],
      ['taken off its bridge', ['ip', 'link', 'set', 'dev', veth, 'nomaster']],
      ['moved to another bridge', ['ip', 'link', 'set', 'dev', veth, 'master', other]],
    ];
    for (const [what, [command, ...args]] of damages) {
      await topo.run(topo.fixture.hostNetns, command as string, ...args);
      expect(await topo.ping(web.netns, '10.241.0.1'), `${what}: the gateway is cut off`).toBe(false);
      const report = await netmode.reconcile();
      expect(report.repaired, what).toContain('veth');
      const link = JSON.parse(await topo.fixture.ip(topo.fixture.hostNetns, '-json', 'link', 'show', 'dev', veth)) as {
        master?: string;
        flags: string[];
      }[];
      expect(link[0]?.master, what).toBe(bridge);
      expect(link[0]?.flags, what).toContain('UP');
      expect(await topo.ping(web.netns, '10.241.0.1'), `${what}: repaired`).toBe(true);
    }
    await topo.run(topo.fixture.hostNetns, 'ip', 'link', 'delete', other);
    await netmode.disconnect('veth');
  });

  it('marks broken an endpoint whose subnet a host route takes away in part, and attached again once it is gone', async () => {
    const web = await netmode.connect('routed', 'bridge');
    const address = (web.addresses[0] as string).split('/')[0] as string;
    await topo.run(topo.fixture.hostNetns, 'ip', 'route', 'add', `${address}/32`, 'dev', 'ext0');
    const report = await netmode.reconcile();
    expect(report.broken).toEqual(['routed']);
    const broken = await netmode.inspectEndpoint('routed');
    expect(broken.status).toBe('broken');
    expect(broken.problems).toEqual([expect.stringContaining(`host route ${address} dev ext0`)]);
    // A broken endpoint is the user's to remove: a later reconcile does not tear it down.
    await netmode.reconcile();
    expect((await netmode.inspectEndpoint('routed')).status).toBe('broken');

    await topo.run(topo.fixture.hostNetns, 'ip', 'route', 'delete', `${address}/32`, 'dev', 'ext0');
    const healed = await netmode.reconcile();
    expect(healed.repaired).toContain('routed');
    const again = await netmode.inspectEndpoint('routed');
    expect(again.status).toBe('attached');
    expect(again.problems).toBeUndefined();
    expect(await topo.ping(web.netns, ADDR.internet)).toBe(true);
    await netmode.disconnect('routed');
  });
});
