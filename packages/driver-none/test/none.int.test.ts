import { createNetMode, type NetworkManager } from '@netmode/core';
import { createNetnsFixture, integrationAvailable, type NetnsFixture } from '@netmode/core/testing';
import { testNetworkDriver } from '@netmode/core/testing/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerNoneDriver } from '../src/index.js';

testNetworkDriver({
  register: registerNoneDriver,
  mode: 'none',
  createsSandbox: true,
  invalidOptions: [{ ip: '10.0.0.2' }, { ports: [{ containerPort: 80 }] }, { mac: '02:42:ac:11:00:02' }, { ifname: 'eth1' }],
});

interface JsonLink {
  ifname: string;
  flags: string[];
}

describe.skipIf(!integrationAvailable())('none mode on the real kernel', () => {
  let fixture: NetnsFixture;
  let netmode: NetworkManager;

  beforeAll(async () => {
    fixture = await createNetnsFixture();
    netmode = createNetMode({
      drivers: [registerNoneDriver],
      hostNetns: fixture.hostNetns,
      stateDir: fixture.stateDir,
      namePrefix: fixture.prefix,
    });
  });
  afterAll(async () => {
    await fixture?.cleanup();
  });

  it('gives a new sandbox with exactly lo, up, and no routes', async () => {
    const before = await fixture.snapshot();
    const endpoint = await netmode.connect('lonely', 'none');
    try {
      expect(endpoint.netns.kind).toBe('named');
      expect(endpoint.ownsNetns).toBe(true);
      const links = JSON.parse(await fixture.ip(endpoint.netns, '-json', 'link', 'show')) as JsonLink[];
      expect(links.map((l) => l.ifname)).toEqual(['lo']);
      expect(links[0]?.flags).toContain('UP');
      // The main tables are empty; lo's own routes live in the local table.
      expect(JSON.parse(await fixture.ip(endpoint.netns, '-json', '-4', 'route', 'show'))).toEqual([]);
      expect(JSON.parse(await fixture.ip(endpoint.netns, '-json', '-6', 'route', 'show'))).toEqual([]);
      // Nothing appeared in the host namespace.
      expect((await fixture.snapshot()).links).toEqual(before.links);
    } finally {
      await netmode.disconnect('lonely');
    }
    expect(await fixture.snapshot()).toEqual(before);
  });

  it('brings lo up in a namespace the runtime made, and never deletes it', async () => {
    const runtimeNs = await fixture.createNetns('rt');
    await fixture.ip(runtimeNs, 'link', 'set', 'lo', 'down');
    const path = { kind: 'path', path: `/run/netns/${fixture.prefix}rt` } as const;
    const endpoint = await netmode.connect('adopted', 'none', { netns: path });
    expect(endpoint.netns).toEqual(path);
    expect(endpoint.ownsNetns).toBe(false);
    const links = JSON.parse(await fixture.ip(runtimeNs, '-json', 'link', 'show')) as JsonLink[];
    expect(links.find((l) => l.ifname === 'lo')?.flags).toContain('UP');
    await netmode.disconnect('adopted');
    // Still there: the runtime owns it.
    expect(await fixture.ip(runtimeNs, 'link', 'show', 'lo')).toMatch(/lo:/);
  });

  it('reports a sandbox deleted behind its back, and disconnect still succeeds', async () => {
    const endpoint = await netmode.connect('vanishing', 'none');
    expect(await netmode.check('vanishing')).toEqual({ ok: true, problems: [] });
    await fixture.runner.run({ command: 'ip', args: ['netns', 'delete', (endpoint.netns as { name: string }).name] });
    expect(await netmode.check('vanishing')).toEqual({ ok: false, problems: ['the sandbox namespace is gone'] });
    await netmode.disconnect('vanishing');
    expect(await netmode.list()).toEqual([]);
  });
});
