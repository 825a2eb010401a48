import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecaRunner } from '../../../src/exec/execa-runner.js';
import type { CommandSpec } from '../../../src/exec/runner.js';
import type { FirewallScope } from '../../../src/firewall/firewall.js';
import { IptablesFirewall } from '../../../src/firewall/iptables/iptables-firewall.js';
import type { NetnsRef } from '../../../src/model/netns-ref.js';
import { createNetnsFixture, integrationAvailable, type NetnsFixture } from '../../../src/testing/netns-fixture.js';
import { CountingRunner } from '../../../src/testing/fault-runner.js';
import { ENDPOINTS, EP_A, EP_B, NET_A, NET_B, NET_C, NETWORKS, expectFixture, normalizeSave, readFixture } from './support.js';

// Each rule of the full load, as iptables-save prints it, chain by chain in
// the order required: written out by hand rather than derived from the code.
const C = (owner: string) => (owner === 'netmode' ? '-m comment --comment netmode' : `-m comment --comment "${owner}"`);
const A = 'netmode:network:net-a';
const B = 'netmode:network:net-b';
const Cn = 'netmode:network:net-c';
const D = 'netmode:network:net.d@x:1';
const EXPECTED: Readonly<Record<string, readonly string[]>> = {
  'filter FORWARD': [`${C('netmode')} -j NETMODE-FORWARD`],
  'filter NETMODE-FORWARD': [
    `${C('netmode')} -j NETMODE-USER`,
    `-m conntrack --ctstate RELATED,ESTABLISHED,DNAT ${C('netmode')} -j NETMODE-CT`,
    `-i nm-a -o nm-a ${C(A)} -j ACCEPT`,
    `-i nm-a ! -o nm-a ${C(A)} -j NETMODE-ISOLATION`,
    `-i nm-a ! -o nm-a ${C(A)} -j ACCEPT`,
    `-o nm-a ${C(A)} -j DROP`,
    `-i nm-b -o nm-b ${C(B)} -j DROP`,
    `-i nm-b ! -o nm-b ${C(B)} -j NETMODE-ISOLATION`,
    `-i nm-b ! -o nm-b ${C(B)} -j ACCEPT`,
    `-o nm-b ${C(B)} -j DROP`,
    `-i nm-c -o nm-c ${C(Cn)} -j ACCEPT`,
    `-i nm-c ${C(Cn)} -j DROP`,
    `-o nm-c ${C(Cn)} -j DROP`,
    `-i nm-d -o nm-d ${C(D)} -j ACCEPT`,
    `-i nm-d ! -o nm-d ${C(D)} -j NETMODE-ISOLATION`,
    `-i nm-d ! -o nm-d ${C(D)} -j ACCEPT`,
    `-o nm-d ${C(D)} -j DROP`,
  ],
  'filter NETMODE-ISOLATION': ['a', 'b', 'c', 'd'].map((n, i) => `-o nm-${n} ${C([A, B, Cn, D][i] as string)} -j DROP`),
  'filter NETMODE-CT': [
    // The internal network's traffic stays on its bridge, DNATed or established too.
    `-i nm-c ! -o nm-c ${C(Cn)} -j DROP`,
    `! -i nm-c -o nm-c ${C(Cn)} -j DROP`,
    ...['a', 'b', 'c', 'd'].flatMap((n, i) => [
      `-o nm-${n} ${C([A, B, Cn, D][i] as string)} -j ACCEPT`,
      `-i nm-${n} -m conntrack --ctstate RELATED,ESTABLISHED ${C([A, B, Cn, D][i] as string)} -j ACCEPT`,
    ]),
  ],
  'filter INPUT': [`${C('netmode')} -j NETMODE-INPUT`],
  'filter NETMODE-INPUT': [
    // DNS to the embedded server's address: from its bridge only, before the internal network's drop.
    ...['udp', 'tcp'].flatMap((p) => [
      `-d 172.30.3.1/32 -i nm-c -p ${p} -m ${p} --dport 53 ${C(Cn)} -j ACCEPT`,
      `-d 172.30.3.1/32 -p ${p} -m ${p} --dport 53 ${C(Cn)} -j DROP`,
    ]),
    `-i nm-c -m conntrack --ctstate RELATED,ESTABLISHED ${C(Cn)} -j ACCEPT`,
    `-i nm-c ${C(Cn)} -j DROP`,
  ],
  'filter NETMODE-USER': [],
  'nat PREROUTING': [`-m addrtype --dst-type LOCAL ${C('netmode')} -j NETMODE-DNAT`],
  'nat OUTPUT': [`-m addrtype --dst-type LOCAL ${C('netmode')} -j NETMODE-DNAT`],
  'nat POSTROUTING': [`${C('netmode')} -j NETMODE-POSTROUTING`],
  'nat NETMODE-DNAT': [
    // One host address first, every address after.
    ...[0, 1, 2].map(
      (i) =>
        `-d 10.231.255.1/32 -p udp -m udp --dport ${5000 + i} ${C('netmode:endpoint:ep-b')} -j DNAT --to-destination 172.30.2.2:${6000 + i}`,
    ),
    `-p tcp -m tcp --dport 8080 ${C('netmode:endpoint:ep-a')} -j DNAT --to-destination 172.30.1.2:80`,
  ],
  'raw PREROUTING': [`${C('netmode')} -j NETMODE-GUARD`],
  'raw NETMODE-GUARD': ['a', 'b', 'c', 'd'].flatMap((n, i) => [
    `-d 127.0.0.0/8 -i nm-${n} ${C([A, B, Cn, D][i] as string)} -j DROP`,
    `-s 127.0.0.0/8 -i nm-${n} ${C([A, B, Cn, D][i] as string)} -j DROP`,
  ]),
};

/** The `-A` lines of each chain, keyed `table chain`, in order. */
function chains(save: string): Map<string, string[]> {
  const result = new Map<string, string[]>();
  let table = '';
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    const chain = /^:(\S+)/.exec(line)?.[1];
    if (chain !== undefined) result.set(`${table} ${chain}`, []);
    const rule = /^-A (\S+) (.*)$/.exec(line);
    if (rule) result.get(`${table} ${rule[1]}`)?.push(rule[2] as string);
  }
  return result;
}

/** Fails when a chain holds the same rule twice. */
function expectNoDuplicates(found: Map<string, string[]>): void {
  for (const [chain, lines] of found) expect(new Set(lines).size, chain).toBe(lines.length);
}

/** Only the chains and rules that are netmode's (jumps, owned chains). */
function netmodeLines(save: string): string[] {
  return save.split('\n').filter((line) => /netmode|NETMODE/.test(line));
}

describe.skipIf(!integrationAvailable())('IptablesFirewall on the real iptables, in a throwaway namespace', () => {
  const firewall = new IptablesFirewall();
  let fixture: NetnsFixture;
  let scope: FirewallScope;
  let rootBefore: string;
  const rootRunner = new ExecaRunner();

  const save = async (netns: NetnsRef = fixture.hostNetns) =>
    (await fixture.runner.run({ command: 'iptables-save', args: [], netns })).stdout;
  // Read only: proves the root namespace's firewall is the same before and after.
  const rootState = async () =>
    normalizeSave((await rootRunner.run({ command: 'iptables-save', args: [] })).stdout) +
    (await rootRunner.run({ command: 'nft', args: ['list', 'ruleset'] })).stdout.replace(/packets \d+ bytes \d+/g, '');
  const setupAll = async (target: FirewallScope) => {
    for (const network of NETWORKS) await firewall.setupNetwork(target, network);
    for (const endpoint of ENDPOINTS) await firewall.setupEndpoint(target, endpoint);
  };
  const teardownAll = async (target: FirewallScope) => {
    for (const endpoint of ENDPOINTS) await firewall.teardownEndpoint(target, endpoint);
    for (const network of NETWORKS) await firewall.teardownNetwork(target, network);
  };

  beforeAll(async () => {
    rootBefore = await rootState();
    fixture = await createNetnsFixture();
    scope = { runner: fixture.runner, netns: fixture.hostNetns };
    // The icc: false network's bridge must exist: its br_netfilter option is turned on.
    await addBridge(fixture.hostNetns, NET_B.bridge);
  });
  const addBridge = async (netns: NetnsRef, name: string) => {
    await fixture.runner.run({ command: 'ip', args: ['link', 'add', name, 'type', 'bridge'], netns });
  };
  afterAll(async () => {
    await fixture?.cleanup();
    expect(await rootState()).toBe(rootBefore);
  });

  it('creates the base in an empty namespace (the unit tests read this state)', async () => {
    expect(netmodeLines(await save())).toEqual([]);
    expect(await firewall.hasBase(scope)).toBe(false);
    await firewall.ensureBase(scope);
    expect(await firewall.hasBase(scope)).toBe(true);
    await expectFixture('base', normalizeSave(await save()));
  });

  it('loads four networks and two endpoints: each rule once, with its comment, in the required order', async () => {
    await setupAll(scope);
    const text = await save();
    await expectFixture('full', normalizeSave(text));
    const found = chains(text);
    for (const [chain, lines] of Object.entries(EXPECTED)) expect(found.get(chain), chain).toEqual(lines);
    expect(found.get('nat NETMODE-POSTROUTING')).toEqual(
      expect.arrayContaining([
        `-s 172.30.1.0/24 ! -o nm-a ${C(A)} -j MASQUERADE`,
        `-o nm-a -m conntrack --ctstate DNAT ${C(A)} -j NETMODE-HAIRPIN`,
        `-s 127.0.0.0/8 -o nm-a ${C(A)} -j MASQUERADE`,
        `-s 172.30.4.0/24 ! -o nm-d ${C(D)} -j MASQUERADE`,
        `-s 172.30.5.0/24 ! -o nm-d ${C(D)} -j MASQUERADE`,
      ]),
    );
    // The internal network is never masqueraded on its way out (it has no way out).
    expect(found.get('nat NETMODE-POSTROUTING')?.filter((l) => l.includes('! -o nm-c'))).toEqual([]);
    expect(found.get('nat NETMODE-HAIRPIN')).toHaveLength(5);
    expectNoDuplicates(found);
  });

  it('changes nothing when everything is set up again: no restore at all', async () => {
    const before = normalizeSave(await save());
    const restores: CommandSpec[] = [];
    const runner = { run: (spec: CommandSpec) => (spec.command === 'iptables-restore' && restores.push(spec), fixture.runner.run(spec)) };
    await setupAll({ runner, netns: fixture.hostNetns });
    await firewall.ensureBase({ runner, netns: fixture.hostNetns });
    expect(restores).toEqual([]);
    expect(normalizeSave(await save())).toBe(before);
  });

  it('repairs a network whose rules were changed by hand', async () => {
    const before = normalizeSave(await save());
    await fixture.runner.run({
      command: 'iptables',
      args: [
        '-t',
        'filter',
        '-D',
        'NETMODE-FORWARD',
        '-i',
        'nm-a',
        '!',
        '-o',
        'nm-a',
        '-m',
        'comment',
        '--comment',
        A,
        '-j',
        'NETMODE-ISOLATION',
      ],
      netns: fixture.hostNetns,
    });
    await firewall.setupNetwork(scope, NET_A);
    const after = chains(await save()).get('filter NETMODE-FORWARD') ?? [];
    expect(after.filter((l) => l.includes(A))).toEqual((EXPECTED['filter NETMODE-FORWARD'] ?? []).filter((l) => l.includes(A)));
    expect(
      normalizeSave(await save())
        .split('\n')
        .sort(),
    ).toEqual(before.split('\n').sort());
  });

  it("tears everything down twice; only the base and the administrator's rule remain", async () => {
    await fixture.runner.run({
      command: 'iptables',
      args: ['-t', 'filter', '-A', 'NETMODE-USER', '-s', '192.0.2.0/24', '-j', 'DROP'],
      netns: fixture.hostNetns,
    });
    await teardownAll(scope);
    const counting = new CountingRunner(fixture.runner);
    await teardownAll({ runner: counting, netns: fixture.hostNetns });
    // Only reads: one iptables-save per call.
    expect(counting.count).toBe(ENDPOINTS.length + NETWORKS.length);
    const found = chains(await save());
    expect(found.get('filter NETMODE-USER')).toEqual(['-s 192.0.2.0/24 -j DROP']);
    expect(netmodeLines(await save()).filter((l) => l.includes('netmode:'))).toEqual([]);
    // Exactly the base the first test recorded, plus the administrator's rule.
    const lines = (text: string) => text.split('\n').filter(Boolean).sort();
    expect(lines(normalizeSave(await save()))).toEqual(lines(`${await readFixture('base')}-A NETMODE-USER -s 192.0.2.0/24 -j DROP\n`));
    expect(await firewall.hasBase(scope)).toBe(true);
    // Setting a network up again leaves the administrator's chain alone.
    await firewall.setupNetwork(scope, NET_B);
    expect(chains(await save()).get('filter NETMODE-USER')).toEqual(['-s 192.0.2.0/24 -j DROP']);
  });

  it('keeps the base while a network is left, then removes it, keeping a non-empty NETMODE-USER', async () => {
    expect(await firewall.removeBase(scope)).toBe(false);
    expect(await firewall.hasBase(scope)).toBe(true);
    await firewall.teardownNetwork(scope, NET_B);
    expect(await firewall.removeBase(scope)).toBe(true);
    expect(netmodeLines(await save())).toEqual([':NETMODE-USER - [0:0]', '-A NETMODE-USER -s 192.0.2.0/24 -j DROP']);
    expect(chains(await save()).get('filter NETMODE-USER')).toEqual(['-s 192.0.2.0/24 -j DROP']);
  });

  it("removes the administrator's emptied chain too, leaving nothing of netmode; twice is fine", async () => {
    await fixture.runner.run({
      command: 'iptables',
      args: ['-t', 'filter', '-D', 'NETMODE-USER', '-s', '192.0.2.0/24', '-j', 'DROP'],
      netns: fixture.hostNetns,
    });
    expect(await firewall.removeBase(scope)).toBe(true);
    expect(await firewall.removeBase(scope)).toBe(true);
    expect(netmodeLines(await save())).toEqual([]);
    expect(await firewall.hasBase(scope)).toBe(false);
  });

  it('tolerates concurrent creators of the base', async () => {
    const netns = await fixture.createNetns('race');
    await addBridge(netns, NET_B.bridge);
    const target = { runner: fixture.runner, netns };
    await Promise.all([
      new IptablesFirewall().setupNetwork(target, NET_A),
      new IptablesFirewall().setupNetwork(target, NET_B),
      new IptablesFirewall().setupNetwork(target, NET_C),
      new IptablesFirewall().setupEndpoint(target, EP_A),
    ]);
    const found = chains(await save(netns));
    expectNoDuplicates(found);
    expect(await firewall.hasBase(target)).toBe(true);
    expect(found.get('filter NETMODE-ISOLATION')).toHaveLength(3);
    expect(found.get('nat NETMODE-DNAT')).toHaveLength(1);
    await teardownAll(target);
    expect(await firewall.removeBase(target)).toBe(true);
    expect(netmodeLines(await save(netns))).toEqual([]);
  });

  it('publishes EP_B on its host address only and withdraws it on teardown', async () => {
    await firewall.setupNetwork(scope, NET_B);
    await firewall.setupEndpoint(scope, EP_B);
    expect(chains(await save()).get('nat NETMODE-DNAT')).toHaveLength(3);
    await firewall.teardownEndpoint(scope, EP_B);
    await firewall.teardownNetwork(scope, NET_B);
    expect(await firewall.removeBase(scope)).toBe(true);
    expect(netmodeLines(await save())).toEqual([]);
  });
});
