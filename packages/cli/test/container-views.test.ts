import { processStartTime } from '@netmode/core';
import { describe, expect, it } from 'vitest';
import { inspectCommand } from '../src/commands/inspect.js';
import { psCommand } from '../src/commands/ps.js';
import type { ContainerRecord } from '../src/containers/container-store.js';
import { FakeNetMode, fakeSession } from './support/fake-netmode.js';

const NETWORKS = { front: { prefix: '10.1.0' }, back: { prefix: '10.2.0' } };
const STATE = '/nonexistent/netmode-views-test';

/** A record whose process is this test's own, so that it shows as running. */
function running(name: string, networks: string[]): ContainerRecord {
  return {
    name,
    networks,
    command: ['sleep', '100'],
    detached: true,
    createdAt: new Date().toISOString(),
    process: { pid: process.pid, start: processStartTime(process.pid) as string },
  };
}

/** A container `web` run on front, then connected to back with a higher gateway priority and an alias. */
async function webOnTwoNetworks() {
  const netmode = new FakeNetMode(NETWORKS);
  const fake = fakeSession(netmode, STATE);
  await fake.session.containers.reserve(running('web', ['front']));
  await netmode.connect('web', 'front', { ports: [{ containerPort: 80, hostPort: 8080, protocol: 'tcp' }] });
  await netmode.connect('web', 'back', { gwPriority: 5, aliases: ['www'] });
  return { netmode, ...fake };
}

describe('ps and inspect of a container on several networks (a fake SDK)', () => {
  it('ps lists every network and every address, in the order they were connected', async () => {
    const { session, stdout } = await webOnTwoNetworks();
    expect(await psCommand(session, { options: { json: false } })).toBe(0);
    const [header, row] = stdout().split('\n');
    expect(header).toMatch(/^NAME +STATUS +PID +NETWORKS +ADDRESSES +PORTS +COMMAND +CREATED$/);
    expect(row).toMatch(
      new RegExp(
        `^web +running +${process.pid} +front,back +10\\.1\\.0\\.2/24,10\\.2\\.0\\.3/24 +0\\.0\\.0\\.0:8080->80/tcp +sleep 100 +0s ago$`,
      ),
    );
  });

  it('ps --json gives the mode, the networks, the addresses and the ports', async () => {
    const { session, stdout } = await webOnTwoNetworks();
    await psCommand(session, { options: { json: true } });
    expect(JSON.parse(stdout())).toMatchObject([
      {
        name: 'web',
        status: 'running',
        mode: 'front',
        networks: ['front', 'back'],
        addresses: ['10.1.0.2/24', '10.2.0.3/24'],
        ports: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
      },
    ]);
  });

  it('inspect --json keys the endpoints by network, in connection order, beside the sandbox and its default route', async () => {
    const { session, stdout } = await webOnTwoNetworks();
    expect(await inspectCommand(session, { options: { json: true }, name: 'web' })).toBe(0);
    const shown = JSON.parse(stdout()) as { endpoints: Record<string, { defaultRoute: boolean }> };
    expect(Object.keys(shown.endpoints)).toEqual(['front', 'back']);
    expect(shown).toMatchObject({
      name: 'web',
      networks: ['front', 'back'],
      sandbox: {
        containerId: 'web',
        netns: { kind: 'path', path: '/proc/self/ns/net' },
        path: '/proc/self/ns/net',
        joiners: [],
        defaultRoute: { network: 'back', gateway: '10.2.0.1', ifname: 'eth1' },
      },
      endpoints: {
        front: { network: 'front', addresses: ['10.1.0.2/24'], gwPriority: 0, defaultRoute: false, ports: [{ hostPort: 8080 }] },
        back: { network: 'back', addresses: ['10.2.0.3/24'], gwPriority: 5, defaultRoute: true, aliases: ['www'] },
      },
    });
  });

  it('inspect shows each network with its interface, addresses, ports and gateway priority', async () => {
    const { session, stdout } = await webOnTwoNetworks();
    await inspectCommand(session, { options: { json: false }, name: 'web' });
    const lines = stdout().split('\n');
    const from = lines.findIndex((l) => l.startsWith('networks'));
    // FIELD and VALUE, the columns two spaces or more apart; a field indented under its network keeps its indent.
    const rows = lines.slice(from, from + 20).map((l) => /^( *[^ ]+(?: [^ ]+)*) {2,}(.*)$/.exec(l)?.slice(1).join(' | '));
    expect(rows).toEqual([
      'networks | front, back',
      'sandbox | path:/proc/self/ns/net (/proc/self/ns/net)',
      'default route | via 10.2.0.1 dev eth1 (network back)',
      'hostname | web',
      'files | -',
      'network | front (driver bridge)',
      '  interfaces | eth0@sandbox',
      '  addresses | 10.1.0.2/24',
      '  gateways | 10.1.0.1',
      '  ports | 0.0.0.0:8080->80/tcp',
      '  aliases | -',
      '  gw priority | 0',
      'network | back (driver bridge)',
      '  interfaces | eth1@sandbox',
      '  addresses | 10.2.0.3/24',
      '  gateways | 10.2.0.1',
      '  ports | -',
      '  aliases | www',
      '  gw priority | 5 (the default route)',
      'command | sleep 100',
    ]);
  });

  it('inspect shows the hostname, the name settings given and the files its process sees', async () => {
    const netmode = new FakeNetMode(NETWORKS);
    const { session, stdout } = fakeSession(netmode, STATE);
    await session.containers.reserve(running('db', ['front']));
    await netmode.connect('db', 'front', { hostname: 'h1', dns: ['10.9.0.53', '10.9.0.54'], extraHosts: ['gw:host-gateway'] });
    const files = { directory: '/state/names/db', hostname: '/state/names/db/hostname', hosts: '/state/names/db/hosts' };
    const inspect = netmode.inspect.bind(netmode);
    netmode.inspect = async (id) => ({ ...(await inspect(id)), files });
    await inspectCommand(session, { options: { json: false }, name: 'db' });
    const lines = stdout().split('\n');
    const from = lines.findIndex((l) => l.startsWith('hostname'));
    expect(lines.slice(from, from + 7).map((l) => l.replace(/(?<=\S) {2,}/, ' | '))).toEqual([
      'hostname | h1',
      'dns | 10.9.0.53, 10.9.0.54',
      'extra hosts | gw:host-gateway',
      'files | /state/names/db',
      '  /etc/hostname | /state/names/db/hostname',
      '  /etc/hosts | /state/names/db/hosts',
      '  /etc/resolv.conf | -',
    ]);
  });

  it('a container the SDK has no sandbox for shows the networks run was given, and as broken while its process runs', async () => {
    const netmode = new FakeNetMode(NETWORKS);
    const { session, stdout } = fakeSession(netmode, STATE);
    await session.containers.reserve(running('lost', ['front', 'back']));
    await psCommand(session, { options: { json: true } });
    expect(JSON.parse(stdout())).toMatchObject([{ name: 'lost', status: 'broken', networks: ['front', 'back'], addresses: [] }]);
  });

  it('a running container whose namespace vanished is broken', async () => {
    const netmode = new FakeNetMode(NETWORKS, '/nonexistent/netns');
    const { session, stdout } = fakeSession(netmode, STATE);
    await session.containers.reserve(running('gone', ['front']));
    await netmode.connect('gone', 'front');
    await psCommand(session, { options: { json: true } });
    expect(JSON.parse(stdout())).toMatchObject([{ name: 'gone', status: 'broken', networks: ['front'] }]);
  });
});
