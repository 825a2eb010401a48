import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { integrationAvailable } from '@netmode/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, netmode } from './support/cli.js';
import { createWorld, type World } from './support/world.js';

const root = integrationAvailable();

/**
 * A third party's driver, as its own package would ship it: mode `dummy`, a
 * sandbox with lo and one more interface, `dummy0` (a bridge device: every
 * kernel netmode runs on has bridges, not every one has the dummy module),
 * registered under NETWORK_DRIVER from @netmode/core (the package's peer
 * dependency, linked below).
 */
const DUMMY_DRIVER = `import { NETWORK_DRIVER, refuseOptions } from '@netmode/core';

class DummyDriver {
  name = 'dummy';
  predefinedNetworks = [{ name: 'dummy', driver: 'dummy' }];
  // It makes a namespace of its own for every container and joins none: the
  // container can be on no other network (and the manager names no ethN).
  wholeSandbox = true;

  validate(request) {
    refuseOptions(request.options, ['ports', 'ip', 'mac', 'ifname', 'netns'], 'cannot be used in dummy mode');
  }

  async attach(request, ctx) {
    const netns = await ctx.sandboxes.create(ctx.sandboxName(request.containerId), { signal: ctx.signal });
    try {
      await ctx.runner.run({ command: 'ip', args: ['link', 'add', 'dummy0', 'up', 'type', 'bridge'], netns, signal: ctx.signal });
    } catch (error) {
      await ctx.sandboxes.delete(netns);
      throw error;
    }
    return { netns, ownsNetns: true, interfaces: [{ name: 'dummy0', side: 'sandbox' }], addresses: [], gateways: [], ports: [] };
  }

  async detach(endpoint, ctx) {
    // Only the sandbox named for this container is ours; a record whose attach never finished names it too.
    if (endpoint.netns.kind === 'named' && endpoint.netns.name === ctx.sandboxName(endpoint.containerId)) await ctx.sandboxes.delete(endpoint.netns);
  }
}

export function registerDummyDriver(container) {
  container.register(NETWORK_DRIVER, { useValue: new DummyDriver() });
}
`;

describe.skipIf(!root)('a third-party driver package, loaded by path (the built binary, in throwaway namespaces)', () => {
  let dir: string;
  let driver: string;
  let world: World | undefined;

  beforeAll(async () => {
    assertBuilt();
    dir = await mkdtemp(join(tmpdir(), 'netmode-dummy-driver-'));
    await mkdir(join(dir, 'node_modules', '@netmode'), { recursive: true });
    await symlink(fileURLToPath(new URL('../../core', import.meta.url)), join(dir, 'node_modules', '@netmode', 'core'));
    driver = join(dir, 'dummy-driver.mjs');
    await writeFile(driver, DUMMY_DRIVER);
  });
  afterEach(async () => {
    await world?.cleanup();
    world = undefined;
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('--driver-package replaces the built-in drivers: its mode runs, and the modes left out are gone', async () => {
    world = await createWorld(['--driver-package', driver, '--driver-package', '@netmode/driver-none']);
    const w = world;
    const networks = JSON.parse((await w.cli(['network', 'ls', '--json'])).stdout) as { name: string; driver: string }[];
    expect(networks.map((n) => [n.name, n.driver]).sort()).toEqual([
      ['dummy', 'dummy'],
      ['none', 'none'],
    ]);

    const foreground = await w.cli(['run', '--net', 'dummy', '--', 'ip', '-o', 'link', 'show']);
    expect(foreground.code, foreground.stderr).toBe(0);
    expect(
      foreground.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(': ')[1]?.split('@')[0]),
    ).toEqual(['lo', 'dummy0']);

    expect((await w.cli(['run', '-d', '--name', 'd1', '--net', 'dummy', '--', 'sleep', '100'])).code).toBe(0);
    const inspect = JSON.parse((await w.cli(['inspect', 'd1', '--json'])).stdout) as {
      endpoints: Record<string, { driver: string; interfaces: { name: string }[] }>;
    };
    expect(inspect.endpoints['dummy']).toMatchObject({ driver: 'dummy', interfaces: [{ name: 'dummy0' }] });
    expect(await w.sandboxes()).toHaveLength(1);
    const refused = await w.cli(['run', '--net', 'dummy', '-p', '80', '--', 'true']);
    expect(refused.code).toBe(125);
    expect(refused.stderr).toMatch(/^ERR_INVALID_CONFIG: .*cannot be used in dummy mode/);
    expect((await w.cli(['rm', '-f', 'd1'])).code).toBe(0);
    expect(await w.sandboxes()).toEqual([]);

    const bridge = await w.cli(['run', '--net', 'bridge', '--', 'true']);
    expect(bridge.code).toBe(125);
    expect(bridge.stderr).toContain('ERR_NETWORK_NOT_FOUND');
  });

  it('NETMODE_DRIVER_PACKAGES adds it beside the built-in ones, a relative path from the current directory; the bridge keeps the global flags', async () => {
    world = await createWorld();
    const w = world;
    const packages = [
      '@netmode/driver-none',
      '@netmode/driver-host',
      '@netmode/driver-bridge',
      '@netmode/driver-container',
      `./${relative(process.cwd(), driver)}`,
    ];
    const env = { ...w.env, NETMODE_DRIVER_PACKAGES: packages.join(','), NETMODE_MTU: '1400' };
    expect((await netmode(['run', '-d', '--name', 'b1', '--', 'sleep', '100'], { env })).code).toBe(0);
    expect((await netmode(['exec', 'b1', '--', 'ip', '-o', 'link', 'show', 'eth0'], { env })).stdout).toContain('mtu 1400');
    const dummy = await netmode(['run', '--net', 'dummy', '--', 'ip', '-o', 'link', 'show', 'dummy0'], { env });
    expect(dummy.code, dummy.stderr).toBe(0);
    expect((await netmode(['rm', '-f', 'b1'], { env })).code).toBe(0);
    expect(await w.sandboxes()).toEqual([]);
  });
});
