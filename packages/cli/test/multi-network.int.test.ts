import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { integrationAvailable } from '@netmode/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBE, assertBuilt, type Result, eventually } from './support/cli.js';
import { ADDR, createWorld, probeOf, type World } from './support/world.js';

const root = integrationAvailable();
const node = process.execPath;
const ip = (cidr: string) => cidr.split('/')[0] as string;

// Every address lives in a namespace the world made: its host namespace's
// bridges and the containers on them.
const SUBNETS = { na: '10.248.1.0/24', nb: '10.248.2.0/24', nc: '10.248.3.0/24' } as const;

/** Answers every line a client sends with that line, on port 7000. */
const ECHO_SERVER = "require('net').createServer((s) => s.pipe(s)).listen(7000, () => console.log('ready'))";

/**
 * Opens one TCP connection to the echo server at argv[1] and keeps it: a
 * line every 100 ms, and `pongs N` printed for every answer. It exits the
 * moment the connection breaks, so a log that keeps counting is a
 * connection that survived.
 */
const TALKER = `
const socket = require('net').connect(7000, process.argv[1]);
let pongs = 0;
socket.on('connect', () => { console.log('connected'); setInterval(() => socket.write('ping\\n'), 100); });
socket.on('data', (d) => { pongs += String(d).split('\\n').filter(Boolean).length; console.log('pongs ' + pongs); });
socket.on('close', () => { console.log('closed'); process.exit(3); });
socket.on('error', (e) => { console.log('error ' + e.code); process.exit(4); });`;

interface PsEntry {
  name: string;
  status: string;
  pid: number | null;
  mode: string;
  networks: string[];
  addresses: string[];
  ports: { hostPort?: number; containerPort: number }[];
}

interface InspectJson {
  networks: string[];
  sandbox: { defaultRoute?: { network: string; ifname: string; gateway: string } } | null;
  endpoints: Record<string, { addresses: string[]; interfaces: { name: string; side: string }[]; gwPriority: number; aliases: string[] }>;
}

describe.skipIf(!root).each(['nftables', 'iptables'])('a container on several networks, firewall %s (the built binary)', (firewall) => {
  let world: World;
  const cli = (args: readonly string[]) => world.cli(args);
  const ok = (result: Result, what: string) => expect(result.code, `${what}: ${result.stderr}`).toBe(0);
  const ps = async (): Promise<PsEntry[]> => {
    const result = await cli(['ps', '--json']);
    ok(result, 'ps');
    return JSON.parse(result.stdout) as PsEntry[];
  };
  const entry = async (name: string) => (await ps()).find((c) => c.name === name);
  const inspect = async (name: string): Promise<InspectJson> => {
    const result = await cli(['inspect', name, '--json']);
    ok(result, `inspect ${name}`);
    return JSON.parse(result.stdout) as InspectJson;
  };
  const ifaces = async (name: string) => probeOf(await cli(['exec', name, '--', node, PROBE, 'ifaces'])).ifaces ?? {};
  const routes = async (name: string) =>
    (probeOf(await cli(['exec', name, '--', node, PROBE, 'routes'])) as { routes?: string[] }).routes ?? [];
  const tcpAsk = async (from: string, host: string, port = 80) =>
    probeOf(await cli(['exec', from, '--', node, PROBE, 'tcp-ask', host, String(port)]));
  const addressOn = async (name: string, network: string) => ip((await inspect(name)).endpoints[network]?.addresses[0] ?? '');
  const waitServing = async (name: string) => {
    const log = join(world.fixture.stateDir, 'cli', 'logs', `${name}.log`);
    expect(await eventually(async () => (await readFile(log, 'utf8').catch(() => '')).includes('ready')), `${name} serves`).toBe(true);
  };
  const serve = async (name: string, ...networks: string[]) => {
    ok(await cli(['run', '-d', '--name', name, ...networks.flatMap((n) => ['--net', n]), '--', node, PROBE, 'serve', '80']), `run ${name}`);
    await waitServing(name);
  };
  const remove = async (...names: string[]) => ok(await cli(['rm', '-f', ...names]), `rm ${names.join(' ')}`);

  beforeAll(async () => {
    assertBuilt();
    world = await createWorld(['--firewall', firewall]);
    for (const [name, subnet] of Object.entries(SUBNETS)) ok(await cli(['network', 'create', name, '--subnet', subnet]), name);
  });
  afterAll(async () => {
    await world?.cleanup();
  });

  it('run --net na --net name=nb,…: eth0 on na, eth1 on nb with its own options, and it reaches a container on each', async () => {
    await serve('a1', 'na');
    await serve('b1', 'nb');
    ok(
      await cli([
        'run',
        '-d',
        '--name',
        'both',
        '--net',
        'na',
        '--network',
        'name=nb,ip=10.248.2.50,alias=twofold',
        '--',
        node,
        PROBE,
        'sleep',
      ]),
      'run both',
    );

    const both = (await entry('both')) as PsEntry;
    expect(both).toMatchObject({ status: 'running', mode: 'na', networks: ['na', 'nb'] });
    expect(both.addresses).toEqual([expect.stringMatching(/^10\.248\.1\.\d+\/24$/), '10.248.2.50/24']);
    expect((await cli(['ps'])).stdout).toMatch(/\nboth +running +\d+ +na,nb +10\.248\.1\.\d+\/24,10\.248\.2\.50\/24 /);
    const inside = await ifaces('both');
    expect(inside['eth0']).toEqual([both.addresses[0]]);
    expect(inside['eth1']).toEqual([both.addresses[1]]);
    const shown = await inspect('both');
    expect(Object.keys(shown.endpoints)).toEqual(['na', 'nb']);
    expect(shown.endpoints['nb']).toMatchObject({ aliases: ['twofold'] });
    expect(shown.sandbox?.defaultRoute).toMatchObject({ network: 'na', ifname: 'eth0', gateway: '10.248.1.1' });

    // Each server sees the address the container has on its network.
    expect(await tcpAsk('both', await addressOn('a1', 'na'))).toMatchObject({ ok: true, answer: ip(both.addresses[0] as string) });
    expect(await tcpAsk('both', await addressOn('b1', 'nb'))).toMatchObject({ ok: true, answer: ip(both.addresses[1] as string) });
    // And the two networks stay apart for containers on one of them.
    expect(await tcpAsk('a1', await addressOn('b1', 'nb'))).toMatchObject({ ok: false });
    await remove('both', 'a1', 'b1');
  });

  it('network connect gives a running container eth1 with an address; its process and its TCP connection on eth0 go on', async () => {
    ok(await cli(['run', '-d', '--name', 'echo', '--net', 'na', '--', node, '-e', ECHO_SERVER]), 'run echo');
    await waitServing('echo');
    await serve('b2', 'nb');
    const echo = await addressOn('echo', 'na');
    ok(await cli(['run', '-d', '--name', 'talker', '--net', 'na', '--', node, '-e', TALKER, echo]), 'run talker');
    const log = join(world.fixture.stateDir, 'cli', 'logs', 'talker.log');
    const pongs = async () => Number(/pongs (\d+)\n$/.exec(await readFile(log, 'utf8'))?.[1] ?? 0);
    expect(await eventually(async () => (await pongs()) > 3), 'the connection answers').toBe(true);
    const before = (await entry('talker')) as PsEntry;

    const connect = await cli(['network', 'connect', '--alias', 'chatty', 'nb', 'talker']);
    expect(connect).toMatchObject({ code: 0, stdout: '' });
    const after = (await entry('talker')) as PsEntry;
    expect(after).toMatchObject({ status: 'running', pid: before.pid, networks: ['na', 'nb'] });
    const inside = await ifaces('talker');
    expect(inside['eth0']).toEqual([before.addresses[0]]);
    expect(inside['eth1']).toEqual([expect.stringMatching(/^10\.248\.2\.\d+\/24$/)]);
    expect((await inspect('talker')).endpoints['nb']).toMatchObject({ aliases: ['chatty'], gwPriority: 0 });

    const counted = await pongs();
    expect(await eventually(async () => (await pongs()) > counted + 10), 'the connection on eth0 goes on').toBe(true);
    expect(await readFile(log, 'utf8')).not.toMatch(/closed|error/);
    expect(await tcpAsk('talker', await addressOn('b2', 'nb'))).toMatchObject({ ok: true, answer: ip(inside['eth1']?.[0] as string) });
    await remove('talker', 'echo', 'b2');
  });

  it('--gw-priority picks the network of the default route', async () => {
    ok(await cli(['run', '-d', '--name', 'gw', '--net', 'na', '--', node, PROBE, 'sleep']), 'run gw');
    expect(await routes('gw')).toContain('default via 10.248.1.1 dev eth0');
    ok(await cli(['network', 'connect', '--gw-priority', '5', 'nb', 'gw']), 'connect nb');
    expect(await routes('gw')).toContain('default via 10.248.2.1 dev eth1');
    expect((await routes('gw')).filter((r) => r.startsWith('default'))).toHaveLength(1);
    expect((await inspect('gw')).sandbox?.defaultRoute).toMatchObject({ network: 'nb', ifname: 'eth1' });
    expect((await cli(['inspect', 'gw'])).stdout).toMatch(/\ndefault route +via 10\.248\.2\.1 dev eth1 \(network nb\)\n/);
    // Docker's syntax gives a later network its priority at run; --gw-priority the first.
    ok(await cli(['run', '-d', '--name', 'gw2', '--net', 'na', '--net', 'name=nb,gw-priority=1', '--', node, PROBE, 'sleep']), 'run gw2');
    expect(await routes('gw2')).toContain('default via 10.248.2.1 dev eth1');
    ok(await cli(['run', '-d', '--name', 'gw3', '--net', 'na', '--net', 'nb', '--gw-priority=-1', '--', node, PROBE, 'sleep']), 'run gw3');
    expect(await routes('gw3')).toContain('default via 10.248.2.1 dev eth1');
    await remove('gw', 'gw2', 'gw3');
  });

  it('network disconnect removes only that endpoint, and the ports published on it', async () => {
    ok(
      await cli(['run', '-d', '--name', 'pub', '--net', 'na', '--net', 'nb', '-p', '8090:80', '--', node, PROBE, 'serve', '80']),
      'run pub',
    );
    await waitServing('pub');
    const pub = (await entry('pub')) as PsEntry;
    expect(pub.ports).toEqual([expect.objectContaining({ hostPort: 8090, containerPort: 80 })]);
    expect((await inspect('pub')).endpoints['na']).toMatchObject({ ports: [{ hostPort: 8090 }] });
    expect(await world.fromOutside('tcp-ask', ADDR.host, '8090')).toMatchObject({ ok: true, answer: ADDR.ext });

    // nb holds no port: the port stays.
    ok(await cli(['network', 'disconnect', 'nb', 'pub']), 'disconnect nb');
    expect(await entry('pub')).toMatchObject({ status: 'running', pid: pub.pid, networks: ['na'] });
    expect(Object.keys(await ifaces('pub')).sort()).toEqual(['eth0', 'lo']);
    expect(await world.fromOutside('tcp-ask', ADDR.host, '8090')).toMatchObject({ ok: true });

    // Back on nb, then off na: the port goes with na.
    ok(await cli(['network', 'connect', 'nb', 'pub']), 'connect nb again');
    ok(await cli(['network', 'disconnect', 'na', 'pub']), 'disconnect na');
    expect(await entry('pub')).toMatchObject({ status: 'running', pid: pub.pid, networks: ['nb'], ports: [] });
    expect(Object.keys(await ifaces('pub')).sort()).toEqual(['eth1', 'lo']);
    expect(await world.fromOutside('tcp-ask', ADDR.host, '8090')).toMatchObject({ ok: false });
    // From a container on nb, the server still answers.
    ok(await cli(['run', '-d', '--name', 'peer', '--net', 'nb', '--', node, PROBE, 'sleep']), 'run peer');
    expect(await tcpAsk('peer', await addressOn('pub', 'nb'))).toMatchObject({ ok: true });
    await remove('pub', 'peer');
  });

  it('refuses bad input with a code and a hint, and changes nothing', async () => {
    ok(await cli(['run', '-d', '--name', 'one', '--net', 'na', '--', node, PROBE, 'sleep']), 'run one');
    ok(await cli(['run', '-d', '--name', 'hostly', '--net', 'host', '--', node, PROBE, 'sleep']), 'run hostly');
    ok(await cli(['run', '-d', '--name', 'alone', '--net', 'none', '--', node, PROBE, 'sleep']), 'run alone');
    ok(await cli(['run', '-d', '--name', 'side', '--net', 'container:one', '--', node, PROBE, 'sleep']), 'run side');
    ok(await cli(['run', '-d', '--name', 'quick', '--net', 'na', '--', 'true']), 'run quick');
    expect(await eventually(async () => (await entry('quick'))?.status === 'exited')).toBe(true);
    const sandboxes = await world.sandboxes();
    const listed = await ps();

    const refusals: [string[], string, RegExp][] = [
      [['network', 'connect', 'na', 'one'], 'ERR_ENDPOINT_EXISTS', /hint: The container is on that network already/],
      [['network', 'disconnect', 'nb', 'one'], 'ERR_ENDPOINT_NOT_FOUND', /hint: /],
      [['network', 'disconnect', 'na', 'one'], 'ERR_LAST_NETWORK', /hint: A container keeps at least one network/],
      [['network', 'connect', 'nb', 'hostly'], 'ERR_INVALID_CONFIG', /hint: /],
      [['network', 'connect', 'nb', 'alone'], 'ERR_INVALID_CONFIG', /hint: /],
      [['network', 'connect', 'nb', 'side'], 'ERR_INVALID_CONFIG', /hint: /],
      [['network', 'connect', 'host', 'one'], 'ERR_INVALID_CONFIG', /hint: /],
      [['network', 'connect', 'none', 'one'], 'ERR_INVALID_CONFIG', /hint: /],
      [['network', 'connect', 'nosuch', 'one'], 'ERR_NETWORK_NOT_FOUND', /hint: .*netmode network ls/],
      [['network', 'connect', 'nb', 'ghost'], 'ERR_CONTAINER_NOT_FOUND', /hint: .*netmode ps/],
      [['network', 'disconnect', 'na', 'ghost'], 'ERR_CONTAINER_NOT_FOUND', /hint: .*netmode ps/],
      [['network', 'connect', 'nb', 'quick'], 'ERR_CONTAINER_NOT_RUNNING', /hint: /],
    ];
    for (const [args, code, hint] of refusals) {
      const result = await cli(args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(new RegExp(`^${code}: `));
      expect(result.stderr, args.join(' ')).toMatch(hint);
    }
    const usage = await cli(['network', 'connect', 'na']);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toMatch(/^ERR_USAGE: netmode network connect: give NETWORK CONTAINER/);

    // run: a whole-sandbox mode beside a network, a network given twice, an unknown second network.
    for (const [args, code, status] of [
      [['--net', 'na', '--net', 'host'], 'ERR_INVALID_CONFIG', 125],
      [['--net', 'none', '--net', 'na'], 'ERR_INVALID_CONFIG', 125],
      [['--net', 'na', '--net', 'container:one'], 'ERR_INVALID_CONFIG', 125],
      [['--net', 'na', '--net', 'nosuch'], 'ERR_NETWORK_NOT_FOUND', 125],
      [['--net', 'na', '--network', 'na'], 'ERR_USAGE', 125],
    ] as [string[], string, number][]) {
      const result = await cli(['run', '--name', 'refused', ...args, '--', 'true']);
      expect(result.code, `run ${args.join(' ')}: ${result.stderr}`).toBe(status);
      expect(result.stderr, args.join(' ')).toMatch(new RegExp(`^${code}: `));
    }

    expect(await ps()).toEqual(listed);
    expect(await world.sandboxes()).toEqual(sandboxes);
    expect(Object.keys((await inspect('one')).endpoints)).toEqual(['na']);
    await remove('one', 'hostly', 'alone', 'side', 'quick');
  });

  it('a foreground run on two networks, and rm of a container on three, disconnect every one and leave nothing', async () => {
    const foreground = await cli(['run', '--net', 'na', '--net', 'nb', '--', node, PROBE, 'ifaces']);
    ok(foreground, 'foreground run');
    const seen = probeOf(foreground).ifaces ?? {};
    expect(Object.keys(seen).sort()).toEqual(['eth0', 'eth1', 'lo']);
    expect(await ps()).toEqual([]);
    expect(await world.sandboxes()).toEqual([]);

    ok(await cli(['run', '-d', '--name', 'three', '--net', 'na', '--net', 'nb', '--', node, PROBE, 'sleep']), 'run three');
    ok(await cli(['network', 'connect', 'nc', 'three']), 'connect nc');
    expect((await entry('three'))?.networks).toEqual(['na', 'nb', 'nc']);
    await remove('three');
    expect(await world.sandboxes()).toEqual([]);
    // No endpoint is left on any of them: each can go.
    for (const network of Object.keys(SUBNETS))
      expect(
        await cli(['network', 'inspect', network, '--json']).then((r) => JSON.parse(r.stdout) as { containers: unknown[] }),
      ).toMatchObject({ containers: [] });
  });
});
