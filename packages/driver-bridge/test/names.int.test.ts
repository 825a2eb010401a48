import { execFile, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createNetMode,
  isProcessAlive,
  netnsPath,
  processStartTime,
  resolveToolPath,
  type Endpoint,
  type NetnsRef,
  type NetworkManager,
} from '@netmode/core';
import { registerContainerDriver } from '@netmode/driver-container';
import { registerHostDriver } from '@netmode/driver-host';
import { registerNoneDriver } from '@netmode/driver-none';
import { integrationAvailable } from '@netmode/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBridgeDriver } from '../src/index.js';
import { ADDR, createTopology, type Launched, type Topology } from './support/topology.js';

// Names (issue #13): the files of every sandbox, and the embedded DNS server
// that answers a network's containers with the names on that network only,
// forwards the rest to the outside world's resolver, and is no open resolver.

const WORLD_RESOLVER = fileURLToPath(new URL('./support/dns-world.mjs', import.meta.url));
const ASK = fileURLToPath(new URL('./support/dns-ask.mjs', import.meta.url));
const OPERATE = fileURLToPath(new URL('./fixtures/operate.mjs', import.meta.url));
const FRONT = { subnet: '10.242.1.0/24', gateway: '10.242.1.1' };
const BACK = { subnet: '10.242.2.0/24', gateway: '10.242.2.1' };
const CLOSED = { subnet: '10.242.3.0/24', gateway: '10.242.3.1' };
const QUIET = { subnet: '10.242.4.0/24', gateway: '10.242.4.1' };

/** What `dns-ask.mjs` reports. */
interface Asked {
  readonly rcode?: string;
  readonly tc?: boolean;
  readonly aa?: boolean;
  readonly answers?: readonly string[];
  readonly size?: number;
  readonly error?: string;
}

describe.skipIf(!integrationAvailable()).each(['nftables', 'iptables'] as const)('names (%s)', (firewall) => {
  let topo: Topology;
  let netmode: NetworkManager;
  let world: Launched | undefined;
  let hostResolvConf: string | undefined;
  const address = (endpoint: Endpoint) => (endpoint.addresses[0] as string).split('/')[0] as string;
  // A question that must get nothing is given 1 s: every answer in these tests comes within milliseconds.
  const unanswered = (netns: NetnsRef, server: string, name: string, transport: 'udp' | 'tcp' = 'udp', source?: string) =>
    ask(netns, server, name, 'A', transport, source, 1000);

  /** One question from inside `netns` (optionally from the local address `source`). */
  const ask = (
    netns: NetnsRef,
    server: string,
    name: string,
    type = 'A',
    transport: 'udp' | 'tcp' = 'udp',
    source?: string,
    waitMs = 3000,
  ) =>
    new Promise<Asked>((resolve, reject) => {
      const args = [`--net=${netnsPath(netns)}`, '--', process.execPath, ASK, server, name, type, transport, ...(source ? [source] : [])];
      const child = spawn(resolveToolPath('nsenter'), args, { env: { ...process.env, DNS_ASK_TIMEOUT_MS: String(waitMs) } });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.once('error', reject);
      child.once('close', () => {
        try {
          resolve(JSON.parse(out) as Asked);
        } catch {
          reject(new Error(`dns-ask printed ${JSON.stringify(out)}`));
        }
      });
    });

  const startWorldResolver = () => topo.launch(topo.ext, WORLD_RESOLVER, ADDR.internet);

  beforeAll(async () => {
    topo = await createTopology();
    // The host's resolv.conf as the test's host namespace has it: a loopback
    // resolver (only the host reaches it), the outside world's, a search domain.
    hostResolvConf = join(topo.fixture.stateDir, '..', `${topo.fixture.prefix}-resolv.conf`);
    await writeFile(hostResolvConf, `nameserver 127.0.0.1\nnameserver ${ADDR.internet}\nsearch corp.test\noptions edns0\n`);
    netmode = createNetMode({
      drivers: [
        (c) => registerBridgeDriver(c, { firewall, bip: '10.242.0.1/24' }),
        registerHostDriver,
        registerNoneDriver,
        registerContainerDriver,
      ],
      hostNetns: topo.fixture.hostNetns,
      stateDir: topo.fixture.stateDir,
      namePrefix: topo.fixture.prefix,
      hostResolvConf,
      dnsUpstreamTimeoutMs: 500,
    });
    await netmode.createNetwork({ name: 'front', driver: 'bridge', subnets: [FRONT] });
    await netmode.createNetwork({ name: 'back', driver: 'bridge', subnets: [BACK] });
    await netmode.createNetwork({ name: 'closed', driver: 'bridge', subnets: [CLOSED], internal: true });
    world = await startWorldResolver();
  });
  afterAll(async () => {
    await netmode?.stopNameServer();
    if (hostResolvConf) await rm(hostResolvConf, { force: true });
    await topo?.cleanup();
  });

  it('writes hostname, hosts and resolv.conf for the sandbox, 0644, the embedded server the only nameserver on a user network', async () => {
    const web = await netmode.connect('web', 'front', {
      hostname: 'web1',
      domainname: 'example.test',
      extraHosts: ['db.legacy:10.9.9.9', 'hostside:host-gateway'],
    });
    const sandbox = await netmode.inspect('web');
    expect(sandbox.hostname).toBe('web1');
    const files = sandbox.files;
    expect(files).toBeDefined();
    if (!files?.resolvConf) throw new Error('no resolv.conf');
    for (const path of [files.hostname, files.hosts, files.resolvConf]) expect(statSync(path).mode & 0o777).toBe(0o644);
    expect(await readFile(files.hostname, 'utf8')).toBe('web1\n');
    const hosts = await readFile(files.hosts, 'utf8');
    expect(hosts).toContain('127.0.0.1\tlocalhost');
    expect(hosts).toContain('::1\tlocalhost ip6-localhost ip6-loopback');
    expect(hosts).toContain(`${address(web)}\tweb1.example.test web1`);
    expect(hosts).toContain('10.9.9.9\tdb.legacy');
    expect(hosts).toContain(`${FRONT.gateway}\thostside`);
    const resolv = await readFile(files.resolvConf, 'utf8');
    expect(resolv.split('\n').filter((l) => l.startsWith('nameserver'))).toEqual([`nameserver ${FRONT.gateway}`]);
    expect(resolv).toContain('search corp.test');
    expect(resolv).toContain('options edns0 ndots:0');
    expect(await netmode.nameFiles('web')).toEqual({
      hostname: 'web1\n',
      hosts,
      resolvConf: resolv,
    });
  });

  it('the default bridge gets the host resolv.conf without its loopback resolvers, search and options kept', async () => {
    await netmode.connect('plain', 'bridge');
    const files = (await netmode.inspect('plain')).files;
    const resolv = await readFile(files?.resolvConf as string, 'utf8');
    expect(resolv.split('\n').filter((l) => l.startsWith('nameserver'))).toEqual([`nameserver ${ADDR.internet}`]);
    expect(resolv).toContain('search corp.test');
    expect(resolv).toContain('options edns0');
    expect(resolv).not.toContain('ndots:0');
    await netmode.disconnect('plain');
    // The sandbox's files go with it.
    expect(() => statSync(files?.directory as string)).toThrow();
  });

  it('resolves a peer, its alias and NAME.NETWORK on the same network, and the TCP connection by that name works', async () => {
    const web = await netmode.inspectEndpoint('web');
    const db = await netmode.connect('db', 'front', { aliases: ['database'] });
    const server = await topo.serveName(db.netns, 5432, 'db-answers');
    try {
      for (const name of ['db', 'database', 'DB.front', 'db.front.']) {
        const answer = await ask(web.netns, FRONT.gateway, name);
        expect(answer, name).toMatchObject({ rcode: 'NOERROR', aa: true, answers: [address(db)] });
      }
      // The address the name gave is the container that answers.
      const reply = await topo.ask(web.netns, 'tcp-ask', (await ask(web.netns, FRONT.gateway, 'db')).answers?.[0] as string, 5432);
      expect(reply).toMatchObject({ ok: true, out: 'db-answers' });
      // A known name without IPv6: NODATA, not NXDOMAIN, and nothing asked outside.
      const before = world?.lines.length ?? 0;
      expect(await ask(web.netns, FRONT.gateway, 'db', 'AAAA')).toMatchObject({ rcode: 'NOERROR', answers: [] });
      // PTR of the peer's address names it.
      const reversed = `${address(db).split('.').reverse().join('.')}.in-addr.arpa`;
      expect(await ask(web.netns, FRONT.gateway, reversed, 'PTR')).toMatchObject({ rcode: 'NOERROR', answers: ['db.front'] });
      expect(world?.lines.length).toBe(before);
    } finally {
      await server();
    }
  });

  it('a name on another network is never answered from here, and that network is closed to this one', async () => {
    const web = await netmode.inspectEndpoint('web');
    const other = await netmode.connect('other', 'back');
    // From web: `other` is not a name on front, so it goes to the outside world, which does not know it.
    expect(await ask(web.netns, FRONT.gateway, 'other')).toMatchObject({ rcode: 'NXDOMAIN', answers: [] });
    expect(world?.lines).toContain('asked other A over udp');
    // From other, asking front's server: dropped (the firewall, whatever the server would say).
    expect(await unanswered(other.netns, FRONT.gateway, 'db')).toEqual({ error: 'timeout' });
    // Its own network's server answers it, but not with front's names.
    expect(await ask(other.netns, BACK.gateway, 'other')).toMatchObject({ rcode: 'NOERROR', answers: [address(other)] });
    expect(await ask(other.netns, BACK.gateway, 'db')).toMatchObject({ rcode: 'NXDOMAIN' });
  });

  it('is no open resolver: questions from the outside world, from the host itself and forged sources get nothing', async () => {
    const web = await netmode.inspectEndpoint('web');
    await topo.run(topo.ext, 'ip', 'route', 'replace', FRONT.subnet, 'via', ADDR.host);
    try {
      // Shown first: the outside world reaches the server's address (the host's own, on front's bridge).
      expect(await topo.ping(topo.ext, FRONT.gateway)).toBe(true);
      expect(await unanswered(topo.ext, FRONT.gateway, 'db')).toEqual({ error: 'timeout' });
      expect(await unanswered(topo.ext, FRONT.gateway, 'outside.test', 'tcp')).toMatchObject({
        error: expect.stringMatching(/timeout|ETIMEDOUT|ECONNREFUSED/),
      });
      // From the outside world with web's own address as its source.
      await topo.run(topo.ext, 'ip', 'address', 'add', `${address(web)}/32`, 'dev', 'lo');
      expect(await unanswered(topo.ext, FRONT.gateway, 'db', 'udp', address(web))).toEqual({ error: 'timeout' });
      await topo.run(topo.ext, 'ip', 'address', 'del', `${address(web)}/32`, 'dev', 'lo');
      // The host namespace itself.
      expect(await unanswered(topo.fixture.hostNetns, FRONT.gateway, 'db')).toEqual({ error: 'timeout' });
    } finally {
      await topo.run(topo.ext, 'ip', 'route', 'del', FRONT.subnet).catch(() => undefined);
    }
    // The rule that does it is in the ruleset.
    const rules =
      firewall === 'nftables'
        ? await topo.run(topo.fixture.hostNetns, 'nft', 'list', 'table', 'inet', 'netmode')
        : await topo.run(topo.fixture.hostNetns, 'iptables-save', '-t', 'filter');
    expect(rules).toMatch(
      firewall === 'nftables'
        ? /th dport 53 ip daddr @dns_addrs drop/
        : new RegExp(`-A NETMODE-INPUT -d ${FRONT.gateway}/32 -p udp -m udp --dport 53 .*-j DROP`),
    );
  });

  it('forwards other names to the outside world over UDP and TCP, truncates over UDP what does not fit, and gives the whole answer over TCP', async () => {
    const web = await netmode.inspectEndpoint('web');
    expect(await ask(web.netns, FRONT.gateway, 'outside.test')).toMatchObject({ rcode: 'NOERROR', answers: ['10.231.254.77'] });
    expect(await ask(web.netns, FRONT.gateway, 'outside.test', 'A', 'tcp')).toMatchObject({ rcode: 'NOERROR', answers: ['10.231.254.77'] });
    const udp = await ask(web.netns, FRONT.gateway, 'big.test');
    expect(udp).toMatchObject({ tc: true });
    expect(udp.size).toBeLessThanOrEqual(512);
    const tcp = await ask(web.netns, FRONT.gateway, 'big.test', 'A', 'tcp');
    expect(tcp).toMatchObject({ rcode: 'NOERROR', tc: false });
    expect(tcp.answers).toHaveLength(300);
    expect(world?.lines).toContain('asked big.test A over tcp');
  });

  it('learns a connect before connect() returns, and a disconnect before disconnect() returns', async () => {
    const web = await netmode.inspectEndpoint('web');
    const late = await netmode.connect('late', 'front');
    // One question, no retry: the answer is there as soon as connect() returns.
    expect(await ask(web.netns, FRONT.gateway, 'late')).toMatchObject({ rcode: 'NOERROR', answers: [address(late)] });
    await netmode.disconnect('late');
    expect(await ask(web.netns, FRONT.gateway, 'late')).toMatchObject({ rcode: 'NXDOMAIN', answers: [] });
  });

  it('a container on two networks resolves the names of both, and its hosts lists both addresses', async () => {
    const both = await netmode.connect('both', 'front');
    const before = statSync((await netmode.inspect('both')).files?.hosts as string);
    const back = await netmode.connect('both', 'back');
    const other = await netmode.inspectEndpoint('other');
    expect(await ask(both.netns, FRONT.gateway, 'other')).toMatchObject({ rcode: 'NOERROR', answers: [address(other)] });
    expect(await ask(both.netns, BACK.gateway, 'db')).toMatchObject({
      rcode: 'NOERROR',
      answers: [address(await netmode.inspectEndpoint('db'))],
    });
    const files = (await netmode.inspect('both')).files;
    const hosts = await readFile(files?.hosts as string, 'utf8');
    // Rewritten in place: a bind mount of the file (bound to its inode) sees the new line.
    expect(statSync(files?.hosts as string).ino).toBe(before.ino);
    expect(hosts).toContain(`${address(both)}\tboth`);
    expect(hosts).toContain(`${address(back)}\tboth`);
    const resolv = await readFile(files?.resolvConf as string, 'utf8');
    expect(resolv).toContain(`nameserver ${FRONT.gateway}\nnameserver ${BACK.gateway}`);
    // web (front only) still does not learn `other` from the server of front.
    expect(await ask((await netmode.inspectEndpoint('web')).netns, FRONT.gateway, 'other')).toMatchObject({ rcode: 'NXDOMAIN' });
    await netmode.disconnect('both');
  });

  it('a container:NAME joiner gets its target files and asks as its target', async () => {
    await netmode.connect('side', 'container:web');
    const sandbox = await netmode.inspect('side');
    const web = await netmode.inspect('web');
    expect(sandbox.files).toEqual(web.files);
    expect(sandbox.hostname).toBe('web1');
    expect(await ask(sandbox.netns, FRONT.gateway, 'db')).toMatchObject({ rcode: 'NOERROR' });
    await expect(netmode.connect('side2', 'container:web', { hostname: 'other' })).rejects.toMatchObject({ code: 'ERR_INVALID_CONFIG' });
    await netmode.disconnect('side');
  });

  it("with icc off, containers still resolve each other (and are still kept apart), and never learn another network's names", async () => {
    await netmode.createNetwork({ name: 'quiet', driver: 'bridge', subnets: [QUIET], options: { icc: false } });
    const q1 = await netmode.connect('q1', 'quiet');
    const q2 = await netmode.connect('q2', 'quiet');
    const server = await topo.serveName(q2.netns, 7000, 'q2-answers');
    try {
      expect(await ask(q1.netns, QUIET.gateway, 'q2')).toMatchObject({ rcode: 'NOERROR', answers: [address(q2)] });
      expect((await topo.ask(q1.netns, 'tcp-ask', address(q2), 7000)).ok).toBe(false);
      // db lives on front only: the question goes out and the outside world does not know it.
      expect(await ask(q1.netns, QUIET.gateway, 'db')).toMatchObject({ rcode: 'NXDOMAIN', answers: [] });
    } finally {
      await server();
      await netmode.disconnect('q1');
      await netmode.disconnect('q2');
      await netmode.removeNetwork('quiet');
    }
  });

  it('an internal network resolves its own names and forwards nothing', async () => {
    const a = await netmode.connect('in-a', 'closed');
    const b = await netmode.connect('in-b', 'closed');
    expect(await ask(a.netns, CLOSED.gateway, 'in-b')).toMatchObject({ rcode: 'NOERROR', answers: [address(b)] });
    const before = world?.lines.length ?? 0;
    expect(await ask(a.netns, CLOSED.gateway, 'outside.test')).toMatchObject({ rcode: 'REFUSED', answers: [] });
    expect(world?.lines.length).toBe(before);
    await netmode.disconnect('in-a');
    await netmode.disconnect('in-b');
  });

  it('SERVFAIL within the timeout when the outside resolver is gone', async () => {
    const web = await netmode.inspectEndpoint('web');
    await world?.stop();
    world = undefined;
    const asked = performance.now();
    expect(await ask(web.netns, FRONT.gateway, 'outside.test')).toMatchObject({ rcode: 'SERVFAIL' });
    // Two upstreams (the loopback one of the host, the world's), 500 ms each.
    expect(performance.now() - asked).toBeLessThan(2_900);
    world = await startWorldResolver();
  });

  it('reconcile() writes deleted files again and removes the files of a sandbox that is gone', async () => {
    const files = (await netmode.inspect('web')).files;
    if (!files) throw new Error('no name files');
    await rm(files.hosts);
    const stale = join(dirname(files.directory), 'gone-container');
    await mkdir(stale);
    await writeFile(join(stale, 'hosts'), 'left by a crash\n');
    const report = await netmode.reconcile();
    expect(await readFile(files.hosts, 'utf8')).toContain('web1');
    expect(existsSync(stale)).toBe(false);
    expect(report.repaired).toContain('name files of gone-container removed (no such sandbox)');
  });

  it('outlives the processes that started it: two runtimes connect at once and exit, one companion answers for both', async () => {
    const web = await netmode.inspectEndpoint('web');
    expect(await netmode.stopNameServer()).toBe(true);
    expect(await netmode.nameServer()).toBeUndefined();
    const connectFrom = (id: string) =>
      new Promise<Endpoint>((resolve, reject) => {
        const args = [
          OPERATE,
          topo.fixture.stateDir,
          (topo.fixture.hostNetns as { name: string }).name,
          topo.fixture.prefix,
          firewall,
          'connect',
          id,
          'front',
        ];
        execFile(process.execPath, args, (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}: ${stderr}`)) : resolve(JSON.parse(stdout) as Endpoint),
        );
      });
    const [p1, p2] = await Promise.all([connectFrom('p1'), connectFrom('p2')]);
    // Both runtimes are gone; the companion one of them started is not, and it knows both.
    const running = await netmode.nameServer();
    expect(running?.pid).toBeGreaterThan(0);
    expect(await ask(web.netns, FRONT.gateway, 'p1')).toMatchObject({ rcode: 'NOERROR', answers: [address(p1)] });
    expect(await ask(web.netns, FRONT.gateway, 'p2')).toMatchObject({ rcode: 'NOERROR', answers: [address(p2)] });
    const companions = (await topo.run(topo.fixture.hostNetns, 'ss', '-Hlunp', 'sport', '=', '53'))
      .split('\n')
      .filter((line) => line.includes(FRONT.gateway));
    expect(companions).toHaveLength(1);
    expect(companions[0]).toContain(`pid=${running?.pid}`);
    await netmode.disconnect('p1');
    await netmode.disconnect('p2');
  });

  it('the companion outlives a kill: reconcile() starts it again, and it goes when no network needs it', async () => {
    const web = await netmode.inspectEndpoint('web');
    const running = await netmode.nameServer();
    expect(running?.listening).toContain(FRONT.gateway);
    const pid = running?.pid as number;
    expect(pid).not.toBe(process.pid);
    const identity = { pid, start: processStartTime(pid) as string };
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && isProcessAlive(identity); i += 1) await new Promise((done) => setTimeout(done, 20));
    expect(await unanswered(web.netns, FRONT.gateway, 'db')).toEqual({ error: 'timeout' });
    const report = await netmode.reconcile();
    expect(report.repaired.some((line) => line.startsWith('name server started'))).toBe(true);
    expect(await ask(web.netns, FRONT.gateway, 'db')).toMatchObject({ rcode: 'NOERROR' });
    const again = await netmode.nameServer();
    for (const id of ['web', 'db', 'other']) await netmode.disconnect(id);
    // It stays 5 s once idle (a container that goes is often followed by one that comes), then goes.
    for (let i = 0; i < 150 && (await netmode.nameServer()); i += 1) await new Promise((done) => setTimeout(done, 100));
    expect(await netmode.nameServer()).toBeUndefined();
    // It says it is exiting before its process has ended (a moment more on a loaded machine).
    const gone = { pid: again?.pid as number, start: processStartTime(again?.pid as number) ?? 'gone' };
    for (let i = 0; i < 50 && isProcessAlive(gone); i += 1) await new Promise((done) => setTimeout(done, 100));
    expect(isProcessAlive(gone)).toBe(false);
  });
});
