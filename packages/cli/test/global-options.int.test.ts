import { integrationAvailable } from '@netmode/core/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PROBE, assertBuilt, netmode } from './support/cli.js';
import { ADDR, createWorld, probeOf, type World } from './support/world.js';

const root = integrationAvailable();
const node = process.execPath;

// Each case fixes the default network's settings at its first use, so each
// gets a world (host namespace, outside world, state directory) of its own.
describe.skipIf(!root)('global options and NETMODE_* variables (the built binary)', () => {
  let world: World | undefined;
  beforeAll(() => assertBuilt());
  afterEach(async () => {
    await world?.cleanup();
    world = undefined;
  });
  const address = async (w: World, name: string, env?: Record<string, string>): Promise<string> => {
    const result = env ? await netmode(['inspect', name, '--json'], { env }) : await w.cli(['inspect', name, '--json']);
    return (JSON.parse(result.stdout) as { addresses: string[] }).addresses[0] as string;
  };
  const waitServing = async (w: World, port: number) => {
    let seen = await w.fromOutside('tcp-ask', ADDR.host, String(port));
    for (let i = 0; i < 50 && !seen.ok; i += 1) seen = await w.fromOutside('tcp-ask', ADDR.host, String(port));
    return seen;
  };

  it('--icc=false: containers on the default bridge cannot reach each other; published ports still work', async () => {
    world = await createWorld(['--icc=false']);
    const w = world;
    expect((await w.cli(['run', '-d', '--name', 'a', '-p', '8080:80', '--', node, PROBE, 'serve', '80'])).code).toBe(0);
    expect((await w.cli(['run', '-d', '--name', 'b', '--', node, PROBE, 'sleep'])).code).toBe(0);
    expect(await waitServing(w, 8080)).toMatchObject({ ok: true, answer: ADDR.ext });
    const direct = probeOf(await w.cli(['exec', 'b', '--', node, PROBE, 'tcp-ask', (await address(w, 'a')).split('/')[0] as string, '80']));
    expect(direct).toMatchObject({ ok: false, error: 'ETIMEDOUT' });
  });

  it('--iptables=false: no firewall at all, so no published ports and no masquerade', async () => {
    world = await createWorld(['--iptables=false']);
    const w = world;
    await w.serveOutside(9000);
    const publish = await w.cli(['run', '-p', '8080:80', '--', 'true']);
    expect(publish.code).toBe(125);
    expect(publish.stderr).toMatch(/^ERR_INVALID_CONFIG: ports: cannot be published with the none firewall backend/);
    expect((await w.cli(['run', '-d', '--name', 'c', '--', node, PROBE, 'sleep'])).code).toBe(0);
    // Without masquerade the outside world sees 172.17.0.x, which it has no route back to.
    expect(probeOf(await w.cli(['exec', 'c', '--', node, PROBE, 'tcp-ask', ADDR.internet, '9000']))).toMatchObject({ ok: false });
    expect(
      await w.fixture.runner.run({ command: 'nft', args: ['list', 'tables'], netns: w.fixture.hostNetns }).then((r) => r.stdout),
    ).not.toContain('netmode');
  });

  it('reads every setting from NETMODE_* variables', async () => {
    world = await createWorld();
    const w = world;
    const env = { ...w.env, NETMODE_BIP: '10.246.0.1/24', NETMODE_FIREWALL: 'iptables', NETMODE_MTU: '1400' };
    await w.serveOutside(9000);
    const run = await netmode(['run', '-d', '--name', 'e', '-p', '8081:80', '--', node, PROBE, 'serve', '80'], { env });
    expect(run, run.stderr).toMatchObject({ code: 0, stdout: 'e\n' });
    expect(await address(w, 'e', env)).toMatch(/^10\.246\.0\.\d+\/24$/);
    expect((await netmode(['exec', 'e', '--', 'ip', '-o', 'link', 'show', 'eth0'], { env })).stdout).toContain('mtu 1400');
    const saved = await w.fixture.runner.run({ command: 'iptables-save', args: [], netns: w.fixture.hostNetns });
    expect(saved.stdout).toContain('NETMODE');
    expect(await waitServing(w, 8081)).toMatchObject({ ok: true, answer: ADDR.ext });
    expect(probeOf(await netmode(['exec', 'e', '--', node, PROBE, 'tcp-ask', ADDR.internet, '9000'], { env }))).toMatchObject({
      ok: true,
      answer: ADDR.host,
    });
    expect((await netmode(['rm', '-f', 'e'], { env })).code).toBe(0);
  });

  it('a flag wins over its variable', async () => {
    world = await createWorld(['--bip', '10.247.0.1/24']);
    const w = world;
    const env = { NETMODE_BIP: '10.248.0.1/24', NETMODE_STATE_DIR: '/nonexistent/ignored-because-the-flag-wins' };
    const run = await w.cli(['run', '-d', '--name', 'f', '--', 'sleep', '100'], { env });
    expect(run, run.stderr).toMatchObject({ code: 0 });
    expect(await address(w, 'f')).toMatch(/^10\.247\.0\.\d+\/24$/);
  });
});
