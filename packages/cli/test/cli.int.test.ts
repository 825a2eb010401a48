import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { integrationAvailable } from '@netmode/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBE, assertBuilt, finish, netmode, printed, start } from './support/cli.js';
import { ADDR, createWorld, probeOf, startTime, type World } from './support/world.js';

const root = integrationAvailable();
const node = process.execPath;
const ip = (cidr: string) => cidr.split('/')[0] as string;

interface PsEntry {
  name: string;
  status: string;
  pid: number | null;
  mode: string;
  addresses: string[];
  ports: { hostPort?: number; containerPort: number; protocol?: string; hostIp?: string }[];
}

describe.skipIf(!root)('netmode run, exec, ps, inspect, stop, rm (the built binary, in throwaway namespaces)', () => {
  let world: World;
  const ps = async (): Promise<PsEntry[]> => {
    const result = await world.cli(['ps', '--json']);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as PsEntry[];
  };

  beforeAll(async () => {
    assertBuilt();
    world = await createWorld();
    await world.serveOutside(9000);
  });
  afterAll(async () => {
    await world?.cleanup();
  });

  it('runs a command in the foreground, passes its exit status through, and leaves nothing', async () => {
    const result = await world.cli(['run', '--net', 'none', '--', 'sh', '-c', 'ip -o link show; exit 7']);
    expect(result.code).toBe(7);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(result.stdout).toMatch(/^1: lo: /);
    const bridged = await world.cli(['run', '--name', 'fg', '--', node, PROBE, 'tcp-ask', ADDR.internet, '9000']);
    expect(bridged.code, bridged.stderr).toBe(0);
    expect(probeOf(bridged)).toMatchObject({ ok: true, answer: ADDR.host });
    expect(await ps()).toEqual([]);
    expect(await world.sandboxes()).toEqual([]);
  });

  it('passes signals on to the foreground command, then disconnects and exits with its status', async () => {
    const script =
      "process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(42) }); console.log('ready'); setInterval(() => {}, 1000)";
    const child = start([...world.globals, 'run', '--name', 'sig', '--', node, '-e', script]);
    const done = finish(child);
    await printed(child, 'ready');
    expect((await ps()).map((c) => [c.name, c.status])).toEqual([['sig', 'running']]);
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(42);
    expect(result.stdout).toContain('got SIGTERM');
    expect(await ps()).toEqual([]);
    expect(await world.sandboxes()).toEqual([]);
  });

  it('reports 127 and 126 for commands that cannot start, and creates nothing', async () => {
    const missing = await world.cli(['run', '--name', 'nope', '--', 'no-such-command-here']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('ERR_COMMAND_NOT_FOUND');
    expect(await ps()).toEqual([]);
    expect(await world.sandboxes()).toEqual([]);
  });

  it('runs detached containers; ps, inspect and exec see them; stop and rm end them', async () => {
    const web = await world.cli(['run', '-d', '--name', 'web', '-p', '8080:80', '-p', '8053:80/udp', '--', node, PROBE, 'serve', '80']);
    expect(web).toMatchObject({ code: 0, stdout: 'web\n' });
    expect((await world.cli(['run', '-d', '--name', 'client', '--', node, PROBE, 'sleep'])).code).toBe(0);
    expect((await world.cli(['run', '-d', '--name', 'side', '--net', 'container:web', '--', node, PROBE, 'sleep'])).code).toBe(0);

    const list = await ps();
    expect(list.map((c) => [c.name, c.status, c.mode])).toEqual([
      ['client', 'running', 'bridge'],
      ['side', 'running', 'container:web'],
      ['web', 'running', 'bridge'],
    ]);
    const webEntry = list.find((c) => c.name === 'web') as PsEntry;
    const clientEntry = list.find((c) => c.name === 'client') as PsEntry;
    expect(webEntry.addresses[0]).toMatch(/^172\.17\.0\.\d+\/16$/);
    expect(webEntry.ports).toEqual([
      { hostPort: 8080, containerPort: 80, count: 1, protocol: 'tcp' },
      { hostPort: 8053, containerPort: 80, count: 1, protocol: 'udp' },
    ]);
    expect(list.find((c) => c.name === 'side')?.addresses).toEqual(webEntry.addresses);
    expect(await startTime(webEntry.pid as number)).toBeDefined();

    const table = await world.cli(['ps']);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME +STATUS +PID +NETWORKS +ADDRESSES +PORTS +COMMAND +CREATED$/);
    expect(table.stdout).toMatch(/web +running +\d+ +bridge +172\.17\.0\.\d+\/16 +0\.0\.0\.0:8080->80\/tcp, 0\.0\.0\.0:8053->80\/udp/);

    const inspect = JSON.parse((await world.cli(['inspect', 'web', '--json'])).stdout) as {
      status: string;
      sandbox: { netns: { kind: string } };
      endpoints: Record<string, { gateways: string[] }>;
    };
    expect(inspect).toMatchObject({
      status: 'running',
      sandbox: { netns: { kind: 'named' } },
      endpoints: { bridge: { gateways: ['172.17.0.1'] } },
    });
    expect((await world.cli(['inspect', 'web'])).stdout).toMatch(/^FIELD +VALUE\nname +web\nstatus +running/);

    // The probe server writes "ready" once it listens; ask until it does.
    let outside = await world.fromOutside('tcp-ask', ADDR.host, '8080');
    for (let i = 0; i < 50 && !outside.ok; i += 1) outside = await world.fromOutside('tcp-ask', ADDR.host, '8080');
    expect(outside).toMatchObject({ ok: true, answer: ADDR.ext });
    expect(await world.fromOutside('udp-ask', ADDR.host, '8053')).toMatchObject({ ok: true, answer: ADDR.ext });

    const inside = await world.cli(['exec', 'web', '--', node, PROBE, 'ifaces']);
    expect(probeOf(inside).ifaces?.['eth0']).toEqual(webEntry.addresses);
    expect((await world.cli(['exec', 'web', 'sh', '-c', 'exit 3'])).code).toBe(3);
    expect(
      probeOf(await world.cli(['exec', 'client', '--', node, PROBE, 'tcp-ask', ip(webEntry.addresses[0] as string), '80'])),
    ).toMatchObject({
      ok: true,
      answer: ip(clientEntry.addresses[0] as string),
    });
    expect(probeOf(await world.cli(['exec', 'client', '--', node, PROBE, 'tcp-ask', ADDR.internet, '9000']))).toMatchObject({
      ok: true,
      answer: ADDR.host,
    });
    expect(probeOf(await world.cli(['exec', 'side', '--', node, PROBE, 'tcp-ask', '127.0.0.1', '80']))).toMatchObject({
      ok: true,
      answer: '127.0.0.1',
    });

    const refused = await world.cli(['rm', 'web']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^ERR_CONTAINER_RUNNING: container web is running \(pid \d+\)\n {2}hint: Stop it first/);

    const stop = await world.cli(['stop', '-t', '5', 'web']);
    expect(stop).toMatchObject({ code: 0, stdout: 'web\n' });
    expect(await startTime(webEntry.pid as number)).toBeUndefined();
    expect((await ps()).find((c) => c.name === 'web')?.status).toBe('exited');
    const notRunning = await world.cli(['exec', 'web', '--', 'true']);
    expect(notRunning.code).toBe(2);
    expect(notRunning.stderr).toContain('ERR_CONTAINER_NOT_RUNNING');

    expect(await world.cli(['rm', 'web'])).toMatchObject({ code: 0, stdout: 'web\n' });
    expect(await world.cli(['rm', '-f', 'side', 'client'])).toMatchObject({ code: 0, stdout: 'side\nclient\n' });
    expect(await ps()).toEqual([]);
    expect(await world.sandboxes()).toEqual([]);
  });

  it('stop signals only the process it recorded: a PID whose start time differs is left alone', async () => {
    expect((await world.cli(['run', '-d', '--name', 'victim', '--', 'sleep', '1000'])).code).toBe(0);
    const file = join(world.fixture.stateDir, 'cli', 'containers', 'victim.json');
    const original = await readFile(file, 'utf8');
    const record = JSON.parse(original) as { process: { pid: number; start: string } };
    // As if the PID had been recycled: same number, another process.
    await writeFile(file, JSON.stringify({ ...record, process: { ...record.process, start: '1' } }));
    expect((await world.cli(['stop', '-t', '1', 'victim'])).code).toBe(0);
    expect(await startTime(record.process.pid)).toBe(record.process.start);
    expect((await ps()).find((c) => c.name === 'victim')?.status).toBe('exited');
    await writeFile(file, original);
    expect((await world.cli(['rm', '-f', 'victim'])).code).toBe(0);
    expect(await startTime(record.process.pid)).toBeUndefined();
  });

  it('publishes a container port on an ephemeral host port with -p PORT', async () => {
    expect((await world.cli(['run', '-d', '--name', 'eph', '-p', '80', '--', node, PROBE, 'serve', '80'])).code).toBe(0);
    const { ports } = (await ps()).find((c) => c.name === 'eph') as PsEntry;
    const hostPort = ports[0]?.hostPort as number;
    expect(hostPort).toBeGreaterThanOrEqual(32768);
    expect(hostPort).toBeLessThanOrEqual(60999);
    let seen = await world.fromOutside('tcp-ask', ADDR.host, String(hostPort));
    for (let i = 0; i < 50 && !seen.ok; i += 1) seen = await world.fromOutside('tcp-ask', ADDR.host, String(hostPort));
    expect(seen).toMatchObject({ ok: true, answer: ADDR.ext });
    expect((await world.cli(['rm', '-f', 'eph'])).code).toBe(0);
  });

  it('prints ERR_CODE: message and a hint, with the documented exit status', async () => {
    const noNetwork = await world.cli(['run', '--net', 'nosuch', '--', 'true']);
    expect(noNetwork.code).toBe(125);
    expect(noNetwork.stderr).toMatch(/^ERR_NETWORK_NOT_FOUND: .*\n {2}hint: .*netmode network ls/);
    const portsInNone = await world.cli(['run', '--net', 'none', '-p', '80', '--', 'true']);
    expect(portsInNone.code).toBe(125);
    expect(portsInNone.stderr).toMatch(/^ERR_INVALID_CONFIG: .*ports.*\n {2}hint: Correct the option named in the message/);
    const ghost = await world.cli(['inspect', 'ghost']);
    expect(ghost.code).toBe(2);
    expect(ghost.stderr).toMatch(/^ERR_CONTAINER_NOT_FOUND: no such container: ghost\n {2}hint: .*netmode ps/);
    if (world.daemon) {
      // Through -H these are the daemon's settings: a client that gives them is refused, naming them.
      const refused = await world.cli(['--host-netns', `${world.fixture.prefix}nosuch`, '--icc=false', 'network', 'ls']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^ERR_USAGE: --host-netns, --icc: with -H .*netmode daemon/);
    } else {
      // The settings kept in this world's state directory are not these: a read-only command refuses them.
      const changed = await world.cli(['--host-netns', `${world.fixture.prefix}nosuch`, 'network', 'ls']);
      expect(changed.code).toBe(2);
      expect(changed.stderr).toMatch(/^ERR_SETTINGS_CONFLICT: --host-netns: \S+host in force, \S+nosuch given; network ls only reads/);
      // In a state directory that keeps none, they are checked as given.
      const fresh = await mkdtemp(join(tmpdir(), 'netmode-test-'));
      try {
        const noHost = await world.cli(['--state-dir', fresh, '--host-netns', `${world.fixture.prefix}nosuch`, 'network', 'create', 'n']);
        expect(noHost.code).toBe(2);
        expect(noHost.stderr).toContain('ERR_NETNS_NOT_FOUND');
        const contradiction = await world.cli(['--state-dir', fresh, '--icc=false', '--iptables=false', 'network', 'ls']);
        expect(contradiction.code).toBe(2);
        expect(contradiction.stderr).toMatch(/^ERR_INVALID_CONFIG: icc: /);
        // Neither kept the settings that failed.
        expect(await readdir(fresh)).toEqual([]);
      } finally {
        await rm(fresh, { recursive: true, force: true });
      }
    }

    expect((await world.cli(['run', '-d', '--name', 'dup', '--', 'sleep', '100'])).code).toBe(0);
    const dup = await world.cli(['run', '-d', '--name', 'dup', '--', 'true']);
    expect(dup.code).toBe(125);
    expect(dup.stderr).toMatch(/^ERR_CONTAINER_EXISTS: .*\n {2}hint: /);
    const selfJoin = await world.cli(['run', '--name', 'dup2', '--net', 'container:dup2', '--', 'true']);
    expect(selfJoin.code).toBe(125);
    expect(selfJoin.stderr).toContain('cannot join its own sandbox');
    expect((await world.cli(['rm', '-f', 'dup'])).code).toBe(0);
  });

  it('gc removes exited containers and keeps running ones', async () => {
    expect((await world.cli(['run', '-d', '--name', 'quick', '--', 'true'])).code).toBe(0);
    expect((await world.cli(['run', '-d', '--name', 'slow', '--', 'sleep', '100'])).code).toBe(0);
    for (let i = 0; i < 100 && (await ps()).find((c) => c.name === 'quick')?.status !== 'exited'; i += 1)
      await new Promise((r) => setTimeout(r, 20));
    expect(await world.cli(['gc'])).toMatchObject({ code: 0, stdout: 'quick\n' });
    expect((await ps()).map((c) => c.name)).toEqual(['slow']);
    expect((await world.cli(['rm', '-f', 'slow'])).code).toBe(0);
    expect(await world.sandboxes()).toEqual([]);
  });

  it("gc also removes stray sandboxes named with this instance's tag, and only those; reconcile reports in JSON", async () => {
    const { id } = JSON.parse(await readFile(join(world.fixture.stateDir, 'instance.json'), 'utf8')) as { id: string };
    const stray = `${world.fixture.prefix}${id.slice(0, 8)}-${'b'.repeat(16)}`;
    // The old naming, or another instance's with the same prefix: not ours to remove.
    const foreign = `${world.fixture.prefix}${'c'.repeat(16)}`;
    for (const name of [stray, foreign]) await world.fixture.runner.run({ command: 'ip', args: ['netns', 'add', name] });
    const gc = await world.cli(['gc', '--json']);
    expect(gc.code).toBe(0);
    expect(JSON.parse(gc.stdout)).toMatchObject({ pruned: [], disconnected: [], removedObjects: [`netns ${stray}`], failures: [] });
    expect(await world.sandboxes()).toEqual([foreign]);
    await world.fixture.runner.run({ command: 'ip', args: ['netns', 'delete', foreign] });
    const reconcile = await world.cli(['reconcile', '--json']);
    expect(reconcile.code).toBe(0);
    expect(JSON.parse(reconcile.stdout)).toMatchObject({ finished: [], lost: [], broken: [], failures: [] });
  });

  it('doctor checks the host namespace read-only and reports JSON', async () => {
    // doctor looks at this machine, whatever -H says: it is given the world's own settings.
    const doctor = (...args: string[]) => netmode([...world.settings, 'doctor', ...args]);
    const result = await doctor('--json');
    expect(result.code, result.stdout).toBe(0);
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: { check: string; status: string; detail: string }[] };
    expect(report.ok).toBe(true);
    const byName = new Map(report.checks.map((c) => [c.check, c]));
    expect(byName.get('host namespace')?.detail).toBe(`named:${world.fixture.prefix}host`);
    expect(byName.get('ip_forward')?.detail).toMatch(/^[01] in named:/);
    expect(byName.get('bridge and veth')?.status).toBe('ok');
    expect((await doctor()).stdout).toMatch(/^CHECK +STATUS +DETAIL\n/);
  });
});
