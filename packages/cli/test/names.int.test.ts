import { execFileSync } from 'node:child_process';
import { hostname } from 'node:os';
import { integrationAvailable } from '@netmode/core/testing';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { isolatedArgv } from '../src/containers/isolation.js';
import { runToEnd } from '../src/containers/spawn.js';
import { PROBE, assertBuilt, type Result } from './support/cli.js';
import { ADDR, createWorld, type World } from './support/world.js';

const root = integrationAvailable();
const sleeper = ['--', process.execPath, PROBE, 'sleep'];
// Only in the world's namespaces: the network the containers are on, and
// the outside world's address as a resolver no test asks.
const SUBNET = '10.247.1.0/24';

interface InspectJson {
  sandbox: { hostname: string; files?: { directory: string; hostname: string; hosts: string; resolvConf?: string } } | null;
  endpoints: Record<string, { addresses: string[] }>;
}

/**
 * The mounts of the machine's own mount namespace that a container's setup
 * would leave there if its namespace were not private: over the name files,
 * and sysfs.
 */
function rootMounts(): string[] {
  const out = execFileSync('findmnt', ['--raw', '--noheadings', '--output', 'TARGET,FSTYPE,SOURCE'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => /^\/etc\/(hostname|hosts|resolv\.conf) |^\/sys /.test(line));
}

describe.skipIf(!root)("a CLI container's own names: hostname, /etc files and /sys (the built binary)", () => {
  let world: World;
  let mountsBefore: string[];
  const hostnameBefore = hostname();
  const cli = (args: readonly string[]) => world.cli(args);
  const ok = (result: Result, what: string) => {
    expect(result.code, `${what}: ${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const inspect = async (name: string) => JSON.parse(ok(await cli(['inspect', name, '--json']), `inspect ${name}`)) as InspectJson;
  const inside = async (name: string, ...command: string[]) =>
    ok(await cli(['exec', name, '--', ...command]), `exec ${name} ${command.join(' ')}`);
  /** Skips the rest of a test whose files the SDK does not make yet (inspect().files, issue #13). */
  const needFiles = async (context: TestContext, name: string) => {
    if (!(await inspect(name)).sandbox?.files) context.skip('the SDK gives no name files yet (Sandbox.files is absent)');
  };

  beforeAll(async () => {
    assertBuilt();
    mountsBefore = rootMounts();
    world = await createWorld();
    ok(await cli(['network', 'create', 'names', '--subnet', SUBNET]), 'network create');
    ok(
      await cli([
        'run',
        '-d',
        '--name',
        'web',
        '--net',
        'names',
        '--hostname',
        'h1',
        '--domainname',
        'example.test',
        '--add-host',
        `outside:${ADDR.internet}`,
        '--network-alias',
        'www',
        ...sleeper,
      ]),
      'run web',
    );
  });
  afterAll(async () => {
    await world?.cleanup();
    // The containers' mounts lived in their own mount namespaces only.
    expect(rootMounts()).toEqual(mountsBefore);
    expect(hostname()).toBe(hostnameBefore);
  });

  it('run --hostname h1: hostname inside prints h1, and inspect shows it', async () => {
    expect(await inside('web', 'hostname')).toBe('h1\n');
    expect((await inspect('web')).sandbox?.hostname).toBe('h1');
  });

  it('/etc/hostname inside holds the hostname', async (context) => {
    await needFiles(context, 'web');
    expect(await inside('web', 'cat', '/etc/hostname')).toBe('h1\n');
  });

  it("/etc/hosts inside names the container's address with its hostname, and has the --add-host line", async (context) => {
    await needFiles(context, 'web');
    const address = (await inspect('web')).endpoints['names']?.addresses[0]?.split('/')[0] as string;
    const hosts = await inside('web', 'cat', '/etc/hosts');
    expect(hosts).toMatch(/^127\.0\.0\.1\s+localhost/m);
    expect(hosts).toMatch(new RegExp(`^${address.replaceAll('.', '\\.')}\\s.*\\bh1\\b`, 'm'));
    expect(hosts).toMatch(new RegExp(`^${ADDR.internet.replaceAll('.', '\\.')}\\s+outside$`, 'm'));
    expect(await inside('web', 'getent', 'hosts', 'outside')).toMatch(new RegExp(`^${ADDR.internet.replaceAll('.', '\\.')}\\s+outside`));
  });

  it("/sys/class/net inside lists the container's interfaces, not the host's", async () => {
    expect((await inside('web', 'ls', '/sys/class/net')).split('\n').filter(Boolean)).toEqual(['eth0', 'lo']);
  });

  it('/etc/resolv.conf inside gives --dns, --dns-search and --dns-option (default bridge: no embedded server)', async (context) => {
    ok(
      await cli([
        'run',
        '-d',
        '--name',
        'resolver',
        '--dns',
        ADDR.internet,
        '--dns-search',
        'example.test',
        '--dns-option',
        'ndots:2',
        ...sleeper,
      ]),
      'run resolver',
    );
    await needFiles(context, 'resolver');
    const resolv = await inside('resolver', 'cat', '/etc/resolv.conf');
    expect(resolv).toMatch(new RegExp(`^nameserver ${ADDR.internet.replaceAll('.', '\\.')}$`, 'm'));
    expect(resolv).toMatch(/^search example\.test$/m);
    expect(resolv).toMatch(/^options ndots:2$/m);
  });

  it("a container:NAME joiner has NAME's hostname and files; its own /sys shows NAME's interfaces", async () => {
    ok(await cli(['run', '-d', '--name', 'side', '--net', 'container:web', ...sleeper]), 'run side');
    expect(await inside('side', 'hostname')).toBe('h1\n');
    expect((await inside('side', 'ls', '/sys/class/net')).split('\n').filter(Boolean)).toEqual(['eth0', 'lo']);
    const [web, side] = [await inspect('web'), await inspect('side')];
    expect(side.sandbox?.files).toEqual(web.sandbox?.files);
  });

  it('none: its hostname is its name and /sys shows lo alone; host: /sys shows the host namespace', async () => {
    const none = await cli(['run', '--name', 'alone', '--net', 'none', '--', 'sh', '-c', 'hostname; ls /sys/class/net']);
    expect(ok(none, 'run alone')).toBe('alone\nlo\n');
    const host = ok(await cli(['run', '--name', 'hosted', '--net', 'host', '--', 'ls', '/sys/class/net']), 'run hosted');
    // The world's host namespace: its link to the outside world, not the machine's.
    expect(host.split('\n')).toContain('ext0');
  });

  it('a foreground run keeps its exit status and its output, with its own hostname', async () => {
    const result = await cli(['run', '--name', 'fg', '--hostname', 'fg-host', '--', 'sh', '-c', 'hostname; exit 7']);
    expect(result.code, result.stderr).toBe(7);
    expect(result.stdout).toBe('fg-host\n');
  });

  it.each([
    ['a hostname with a character no label takes', ['--hostname', 'bad_name']],
    ['a hostname over 63 characters', ['--hostname', 'h'.repeat(64)]],
    ['a domain name starting with -', ['--domainname=-example.test']],
    ['a resolver that is no address', ['--dns', '10.0.0.300']],
    ['an IPv6 resolver', ['--dns', 'fd00::53']],
    ['a search domain with a space', ['--dns-search', 'bad domain']],
    ['a resolver option that is none', ['--dns-option', 'ndots 2']],
    ['--add-host without an address', ['--add-host', 'db']],
    ['--add-host with an address that is none', ['--add-host', 'db:10.0.0.300']],
    ['--hostname with container:NAME (it has NAME’s)', ['--net', 'container:web', '--hostname', 'other']],
  ])('refuses %s with ERR_INVALID_CONFIG (125), and changes nothing', async (_what, flags) => {
    const before = { host: await world.fixture.snapshot(), state: await world.fixture.stateFiles(), sandboxes: await world.sandboxes() };
    // A row that names its own network replaces `--net names`.
    const network = flags.includes('--net') ? [] : ['--net', 'names'];
    const result = await cli(['run', '--name', 'refused', ...network, ...flags, ...sleeper]);
    expect(result.code, result.stderr).toBe(125);
    expect(result.stderr).toMatch(/^ERR_INVALID_CONFIG: /m);
    expect({ host: await world.fixture.snapshot(), state: await world.fixture.stateFiles(), sandboxes: await world.sandboxes() }).toEqual(
      before,
    );
  });

  it('a setup that fails (a name file that is not there) is ERR_CONTAINER_SETUP quoting why, and the command never runs', async () => {
    const argv = isolatedArgv(
      '/proc/self/ns/net',
      { hostname: 'x1', files: { directory: '/nonexistent', hostname: '/nonexistent/hostname', hosts: '/nonexistent/hosts' } },
      ['sh', '-c', 'echo the command ran'],
    );
    let started = false;
    await expect(runToEnd(argv, 'capture', () => (started = true), process.env, true)).rejects.toMatchObject({
      code: 'ERR_CONTAINER_SETUP',
      exitCode: 125,
      message: expect.stringContaining('could not bind-mount /nonexistent/hostname on /etc/hostname'),
    });
    expect(started).toBe(false);
  });

  it('getent hosts in web answers from the embedded DNS server: db and its alias, on the same network only', async () => {
    ok(await cli(['run', '-d', '--name', 'db', '--net', 'names', '--network-alias', 'database', ...sleeper]), 'run db');
    const address = (await inspect('db')).endpoints['names']?.addresses[0]?.split('/')[0] as string;
    for (const name of ['db', 'database'])
      expect(await inside('web', 'getent', 'hosts', name)).toMatch(new RegExp(`^${address.replaceAll('.', '\\.')}\\s`));
    // A container on the default bridge is on no network with db.
    expect((await cli(['exec', 'resolver', '--', 'getent', 'hosts', 'db'])).code).not.toBe(0);
  });
});
