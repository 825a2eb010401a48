import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetMode, netnsPath, type NetworkManager } from '@netmode/core';
import { integrationAvailable } from '@netmode/core/testing';
import { registerBridgeDriver } from '@netmode/driver-bridge';
import { registerContainerDriver } from '@netmode/driver-container';
import { registerHostDriver } from '@netmode/driver-host';
import { registerNoneDriver } from '@netmode/driver-none';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt } from './support/cli.js';
import { Runc, ensureRuncTools } from './support/runc.js';
import { ADDR, createWorld, type World } from './support/world.js';

const root = integrationAvailable();

describe.skipIf(!root)('a real OCI runtime (runc + busybox) in the namespaces netmode prepares', () => {
  let world: World;
  let netmode: NetworkManager;
  let runc: Runc;

  beforeAll(async () => {
    assertBuilt();
    ensureRuncTools();
    world = await createWorld();
    await world.serveOutside(9000);
    const hostResolvConf = join(world.fixture.stateDir, '..', `${world.fixture.prefix}-resolv.conf`);
    await writeFile(hostResolvConf, `nameserver ${ADDR.internet}\n`);
    netmode = createNetMode({
      drivers: [registerNoneDriver, registerHostDriver, (c) => registerBridgeDriver(c, { bip: '10.249.0.1/24' }), registerContainerDriver],
      hostNetns: world.fixture.hostNetns,
      stateDir: world.fixture.stateDir,
      namePrefix: world.fixture.prefix,
      hostResolvConf,
    });
    runc = new Runc(await mkdtemp(join(tmpdir(), 'netmode-runc-')));
  }, 300_000);

  afterAll(async () => {
    await runc?.cleanup();
    await netmode?.stopNameServer();
    if (world) await rm(join(world.fixture.stateDir, '..', `${world.fixture.prefix}-resolv.conf`), { force: true });
    // Deleting every namespace with the fixture's prefix removes whatever a
    // failed test left (rules included: they live in the host namespace).
    await world?.cleanup();
  });

  it('bridge: the container has its address and route, reaches the gateway and the outside (masqueraded), and serves a published port', async () => {
    const endpoint = await netmode.connect('rc-web', 'bridge', { ports: [{ hostPort: 8080, containerPort: 80 }] });
    const address = endpoint.addresses[0] as string;
    const seen = await runc.run(
      'rc-look',
      endpoint,
      'ip -o -4 addr show eth0; ip route; ping -c 1 -W 2 10.249.0.1 >/dev/null && echo PING-GATEWAY-OK; ' +
        `ping -c 1 -W 2 ${ADDR.internet} >/dev/null && echo PING-OUTSIDE-OK; echo ANSWER $(nc -w 2 ${ADDR.internet} 9000 </dev/null)`,
    );
    expect(seen.code, seen.stderr).toBe(0);
    expect(seen.stdout).toContain(`inet ${address}`);
    expect(seen.stdout).toContain('default via 10.249.0.1 dev eth0');
    expect(seen.stdout).toContain('PING-GATEWAY-OK');
    expect(seen.stdout).toContain('PING-OUTSIDE-OK');
    expect(seen.stdout).toContain(`ANSWER ${ADDR.host}`);

    await runc.start('rc-server', endpoint, 'exec nc -ll -p 80 -e echo served-by-runc');
    let answer = await world.fromOutside('tcp-ask', ADDR.host, '8080');
    for (let i = 0; i < 50 && !answer.ok; i += 1) answer = await world.fromOutside('tcp-ask', ADDR.host, '8080');
    expect(answer).toMatchObject({ ok: true, answer: 'served-by-runc' });
  });

  it("container:NAME: a second runc container in the joiner's namespace sees the same eth0 and reaches the first over 127.0.0.1", async () => {
    const web = await netmode.inspectEndpoint('rc-web');
    const side = await netmode.connect('rc-side', 'container:rc-web');
    expect(netnsPath(side.netns)).toBe(netnsPath(web.netns));
    const seen = await runc.run('rc-side-look', side, 'ip -o -4 addr show eth0; echo ANSWER $(nc -w 2 127.0.0.1 80 </dev/null)');
    expect(seen.code, seen.stderr).toBe(0);
    expect(seen.stdout).toContain(`inet ${web.addresses[0]}`);
    expect(seen.stdout).toContain('ANSWER served-by-runc');
    await runc.delete('rc-server');
    await netmode.disconnect('rc-side');
    await netmode.disconnect('rc-web');
    expect(await world.sandboxes()).toEqual([]);
  });

  it('none: the container has only lo, up, and no route anywhere', async () => {
    const endpoint = await netmode.connect('rc-none', 'none');
    const seen = await runc.run('rc-none-look', endpoint, `ip -o link; ip route; ping -c 1 -W 1 ${ADDR.internet}; echo PING-EXIT $?`);
    expect(seen.code).toBe(0);
    const links = seen.stdout.split('\n').filter((l) => /^\d+: /.test(l));
    expect(links).toHaveLength(1);
    expect(links[0]).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
    expect(seen.stdout + seen.stderr).toMatch(/Network unreachable|network is unreachable/i);
    expect(seen.stdout).toMatch(/PING-EXIT [1-9]/);
    await netmode.disconnect('rc-none');
    expect(await world.sandboxes()).toEqual([]);
  });

  it('names: a runc container with the sandbox files mounted has its hostname, and nslookup resolves a peer through the embedded server', async () => {
    await netmode.createNetwork({ name: 'rc-names', driver: 'bridge', subnets: [{ subnet: '10.249.7.0/24' }] });
    const db = await netmode.connect('rc-db', 'rc-names', { aliases: ['database'] });
    const web = await netmode.connect('rc-app', 'rc-names', { hostname: 'app1', extraHosts: ['legacy:10.9.9.9'] });
    const sandbox = await netmode.inspect('rc-app');
    if (!sandbox.files) throw new Error('no name files');
    const seen = await runc.run(
      'rc-names-look',
      web,
      'echo HOSTNAME $(hostname); cat /etc/hostname; grep legacy /etc/hosts; cat /etc/resolv.conf; nslookup database; nslookup rc-db',
      { hostname: sandbox.hostname, files: sandbox.files },
    );
    expect(seen.code, seen.stderr).toBe(0);
    expect(seen.stdout).toContain('HOSTNAME app1');
    expect(seen.stdout).toContain('10.9.9.9\tlegacy');
    expect(seen.stdout).toContain('nameserver 10.249.7.1');
    const dbAddress = (db.addresses[0] as string).split('/')[0] as string;
    // busybox prints each answer as `Address: IP` (or `Address 1: IP`).
    expect(seen.stdout.match(new RegExp(`Address[^\\n]*${dbAddress.replace(/\./g, '\\.')}`, 'g'))).toHaveLength(2);
    await netmode.disconnect('rc-app');
    await netmode.disconnect('rc-db');
    await netmode.removeNetwork('rc-names');
  });
});
