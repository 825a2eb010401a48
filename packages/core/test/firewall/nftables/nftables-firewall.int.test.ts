import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandResult, CommandRunner, CommandSpec } from '../../../src/exec/runner.js';
import type { FirewallEndpoint, FirewallNetwork, FirewallScope } from '../../../src/firewall/firewall.js';
import { BASE } from '../../../src/firewall/nftables/base.js';
import { NftablesFirewall } from '../../../src/firewall/nftables/nftables-firewall.js';
import type { NetnsRef } from '../../../src/model/netns-ref.js';
import { createNetnsFixture, integrationAvailable, type NetnsFixture } from '../../../src/testing/netns-fixture.js';
import { listTable, type ListedElement } from './ruleset.js';

// Every nft here runs in the fixture's namespaces (nsenter --net=…), never in
// the root namespace. Set elements name bridges by string, so no interface
// is needed and no packet is sent; only an icc: false network's bridge must
// exist, since its br_netfilter option is turned on.

const BASE_RULE_COUNT = BASE.chains.reduce((count, chain) => count + chain.rules.length, 0);

const web: FirewallNetwork = {
  networkId: 'web',
  bridge: 'nm-web',
  subnets: ['10.231.1.0/24'],
  icc: true,
  ipMasq: true,
  internal: false,
};
const quiet: FirewallNetwork = { ...web, networkId: 'quiet', bridge: 'nm-quiet', subnets: ['10.231.2.0/24'], icc: false };
const vault: FirewallNetwork = {
  ...web,
  networkId: 'vault',
  bridge: 'nm-vault',
  subnets: ['10.231.3.0/24', '10.231.8.0/22'],
  internal: true,
};
const api: FirewallEndpoint = {
  endpointId: 'api',
  networkId: 'web',
  bridge: 'nm-web',
  address: '10.231.1.2',
  ports: [
    { protocol: 'tcp', hostPort: 8080, containerPort: 80, count: 1 },
    { protocol: 'udp', hostIp: '10.231.255.1', hostPort: 5000, containerPort: 6000, count: 3 },
  ],
};
const dns: FirewallEndpoint = {
  endpointId: 'dns',
  networkId: 'quiet',
  bridge: 'nm-quiet',
  address: '10.231.2.2',
  ports: [{ protocol: 'udp', hostPort: 53, containerPort: 53, count: 1 }],
};

const el = (key: string, comment: string, value?: string): ListedElement => ({
  key,
  ...(value === undefined ? {} : { value }),
  comment,
});

describe.skipIf(!integrationAvailable())('NftablesFirewall on the real nft, in a throwaway namespace', () => {
  const firewall = new NftablesFirewall();
  let fixture: NetnsFixture;
  let scope: FirewallScope;

  beforeAll(async () => {
    fixture = await createNetnsFixture();
    scope = { runner: fixture.runner, netns: fixture.hostNetns };
    await addBridges(fixture.hostNetns, quiet.bridge);
  });

  const addBridges = async (netns: NetnsRef, ...names: string[]) => {
    for (const name of names) await fixture.runner.run({ command: 'ip', args: ['link', 'add', name, 'type', 'bridge'], netns });
  };

  afterAll(async () => {
    await fixture?.cleanup();
  });

  const ruleset = async (netns: NetnsRef = fixture.hostNetns) =>
    (await fixture.runner.run({ command: 'nft', args: ['list', 'ruleset'], netns })).stdout;

  it('loads the base, three networks and two endpoints, each element commented with its owner', async () => {
    expect(await firewall.hasBase(scope)).toBe(false);
    for (const network of [web, quiet, vault]) await firewall.setupNetwork(scope, network);
    for (const endpoint of [api, dns]) await firewall.setupEndpoint(scope, endpoint);
    expect(await firewall.hasBase(scope)).toBe(true);

    const table = await listTable(fixture.runner, fixture.hostNetns);
    const elements = (name: string) => [...(table.sets.get(name) ?? [])].sort((a, b) => a.key.localeCompare(b.key));
    expect(elements('bridges')).toEqual([el('nm-quiet', 'network:quiet'), el('nm-vault', 'network:vault'), el('nm-web', 'network:web')]);
    expect(elements('bridge_pairs').map((e) => e.key)).toEqual(['nm-quiet . nm-quiet', 'nm-vault . nm-vault', 'nm-web . nm-web']);
    expect(elements('icc_off')).toEqual([el('nm-quiet . nm-quiet', 'network:quiet')]);
    expect(elements('masq_bridges')).toEqual([el('nm-quiet', 'network:quiet'), el('nm-web', 'network:web')]);
    expect(elements('internal_bridges')).toEqual([el('nm-vault', 'network:vault')]);
    expect(elements('subnets4')).toEqual([
      el('10.231.1.0/24', 'network:web'),
      el('10.231.2.0/24', 'network:quiet'),
      el('10.231.3.0/24', 'network:vault'),
      el('10.231.8.0/22', 'network:vault'),
    ]);
    expect(elements('pub_any4')).toEqual([
      el('tcp . 8080', 'endpoint:api', '10.231.1.2 . 80'),
      el('udp . 53', 'endpoint:dns', '10.231.2.2 . 53'),
    ]);
    expect(elements('pub_ip4')).toEqual(
      [5000, 5001, 5002].map((p) => el(`10.231.255.1 . udp . ${p}`, 'endpoint:api', `10.231.1.2 . ${p + 1000}`)),
    );
    expect(table.rules.filter((r) => r.comment === 'netmode')).toHaveLength(BASE_RULE_COUNT);
    expect(table.rules.filter((r) => r.chain === 'user')).toEqual([]);
  });

  it('sets up the same networks and endpoints again without changing the ruleset', async () => {
    const before = await ruleset();
    for (const network of [web, quiet, vault]) await firewall.setupNetwork(scope, network);
    for (const endpoint of [api, dns]) await firewall.setupEndpoint(scope, endpoint);
    expect(await ruleset()).toBe(before);
  });

  it("tears everything down twice, leaving empty sets, the base and the administrator's rule", async () => {
    await fixture.runner.run({
      command: 'nft',
      args: ['-f', '-'],
      netns: fixture.hostNetns,
      input: 'add rule inet netmode user iifname "adm0" accept comment "admin"\n',
    });
    for (let round = 0; round < 2; round += 1) {
      for (const endpoint of [api, dns]) await firewall.teardownEndpoint(scope, endpoint);
      for (const network of [web, quiet, vault]) await firewall.teardownNetwork(scope, network);
    }
    const table = await listTable(fixture.runner, fixture.hostNetns);
    expect([...table.sets.values()].flat()).toEqual([]);
    expect(table.sets.size).toBe(BASE.sets.length);
    expect(table.rules.filter((r) => r.comment === 'netmode')).toHaveLength(BASE_RULE_COUNT);
    expect(table.rules.filter((r) => r.chain === 'user').map((r) => r.comment)).toEqual(['admin']);
    expect(await firewall.hasBase(scope)).toBe(true);
  });

  it('repeats a teardown after its port and subnet went to others, leaving theirs alone', async () => {
    const old: FirewallNetwork = { ...web, networkId: 'old', bridge: 'nm-old', subnets: ['10.231.20.0/22'] };
    const next: FirewallNetwork = { ...web, networkId: 'next', bridge: 'nm-next', subnets: ['10.231.20.0/24'] };
    const port = { protocol: 'tcp' as const, hostPort: 9000, containerPort: 80, count: 1 };
    const gone: FirewallEndpoint = { endpointId: 'gone', networkId: 'old', bridge: 'nm-old', address: '10.231.20.2', ports: [port] };
    const taker: FirewallEndpoint = { endpointId: 'taker', networkId: 'next', bridge: 'nm-next', address: '10.231.20.3', ports: [port] };
    await firewall.setupNetwork(scope, old);
    await firewall.setupEndpoint(scope, gone);
    await firewall.teardownEndpoint(scope, gone);
    await firewall.teardownNetwork(scope, old);
    await firewall.setupNetwork(scope, next);
    await firewall.setupEndpoint(scope, taker);
    const before = await ruleset();

    await firewall.teardownEndpoint(scope, gone);
    await firewall.teardownNetwork(scope, old);
    expect(await ruleset()).toBe(before);
    const table = await listTable(fixture.runner, fixture.hostNetns);
    expect(table.sets.get('pub_any4')).toEqual([el('tcp . 9000', 'endpoint:taker', '10.231.20.3 . 80')]);
    expect(table.sets.get('subnets4')).toEqual([el('10.231.20.0/24', 'network:next')]);

    await firewall.teardownEndpoint(scope, taker);
    await firewall.teardownNetwork(scope, next);
    expect([...(await listTable(fixture.runner, fixture.hostNetns)).sets.values()].flat()).toEqual([]);
  });

  it('isolates a port with its MAC and address, each element commented; releases them; sweeps what a crashed attach left', async () => {
    await firewall.setupNetwork(scope, quiet);
    const port = (id: string, veth: string, last: number): FirewallEndpoint => ({
      endpointId: id,
      networkId: 'quiet',
      bridge: 'nm-quiet',
      address: `10.231.2.${last}`,
      ports: [],
      hostInterface: veth,
      icc: false,
      mac: `02:42:0A:E7:02:0${last}`,
    });
    const listPorts = async () => {
      const { stdout } = await fixture.runner.run({
        command: 'nft',
        args: ['-j', 'list', 'table', 'bridge', 'netmode'],
        netns: fixture.hostNetns,
      });
      const sets = (JSON.parse(stdout) as { nftables: { set?: { name: string; elem?: { elem: { val: unknown; comment: string } }[] } }[] })
        .nftables;
      return Object.fromEntries(
        sets.flatMap((e) =>
          e.set ? [[e.set.name, (e.set.elem ?? []).map((x) => `${JSON.stringify(x.elem.val)} ${x.elem.comment}`)]] : [],
        ),
      );
    };
    await firewall.setupEndpoint(scope, port('p1', 'nmv-p1', 2));
    await firewall.setupEndpoint(scope, port('p2', 'nmv-p2', 3));
    expect(await listPorts()).toEqual({
      isolated_ports: ['"nmv-p1" endpoint:p1', '"nmv-p2" endpoint:p2'],
      port_macs: ['{"concat":["nmv-p1","02:42:0a:e7:02:02"]} endpoint:p1', '{"concat":["nmv-p2","02:42:0a:e7:02:03"]} endpoint:p2'],
      port_addrs4: ['{"concat":["nmv-p1","10.231.2.2"]} endpoint:p1', '{"concat":["nmv-p2","10.231.2.3"]} endpoint:p2'],
    });
    for (let round = 0; round < 2; round += 1) await firewall.teardownEndpoint(scope, port('p1', 'nmv-p1', 2));
    // p2 as an attach that crashed before its record held its interface: found by its comment.
    await firewall.teardownOwner(scope, { kind: 'endpoint', id: 'p2' });
    expect(await listPorts()).toEqual({ isolated_ports: [], port_macs: [], port_addrs4: [] });
    await firewall.teardownNetwork(scope, quiet);
  });

  it("puts back a rule, a set and a chain deleted by hand, each in its place, and keeps the administrator's rule", async () => {
    await firewall.setupNetwork(scope, web);
    const nft = (...args: string[]) => fixture.runner.run({ command: 'nft', args, netns: fixture.hostNetns });
    const chains = async () =>
      Promise.all(BASE.chains.map(async (chain) => (await nft('list', 'chain', 'inet', 'netmode', chain.name)).stdout));
    const before = await chains();
    const masq = (await nft('list', 'set', 'inet', 'netmode', 'masq_bridges')).stdout;
    const table = await listTable(fixture.runner, fixture.hostNetns);
    const handle = (chain: string, index: number) => String(table.rules.filter((r) => r.chain === chain)[index]?.handle);
    // A rule from the middle of forward; the one rule that uses masq_bridges, then the set; a whole chain.
    await nft('delete', 'rule', 'inet', 'netmode', 'forward', 'handle', handle('forward', 3));
    await nft('delete', 'rule', 'inet', 'netmode', 'postrouting', 'handle', handle('postrouting', 0));
    await nft('delete', 'set', 'inet', 'netmode', 'masq_bridges');
    await nft('flush', 'chain', 'inet', 'netmode', 'output');
    await nft('delete', 'chain', 'inet', 'netmode', 'output');
    expect(await firewall.hasBase(scope)).toBe(false);

    await firewall.setupNetwork(scope, web);
    expect(await firewall.hasBase(scope)).toBe(true);
    expect(await chains()).toEqual(before);
    expect((await nft('list', 'set', 'inet', 'netmode', 'masq_bridges')).stdout).toBe(masq);
    expect((await listTable(fixture.runner, fixture.hostNetns)).rules.filter((r) => r.chain === 'user').map((r) => r.comment)).toEqual([
      'admin',
    ]);
    await firewall.teardownNetwork(scope, web);
  });

  it("keeps the table while a bridge or the administrator's rule is in it, then removes it", async () => {
    await firewall.setupNetwork(scope, web);
    expect(await firewall.removeBase(scope)).toBe(false);
    await firewall.teardownNetwork(scope, web);
    expect(await firewall.removeBase(scope)).toBe(false);

    const table = await listTable(fixture.runner, fixture.hostNetns);
    const admin = table.rules.find((r) => r.chain === 'user');
    await fixture.runner.run({
      command: 'nft',
      args: ['delete', 'rule', 'inet', 'netmode', 'user', 'handle', String(admin?.handle)],
      netns: fixture.hostNetns,
    });
    expect(await firewall.removeBase(scope)).toBe(true);
    expect(await ruleset()).toBe('');
    expect(await firewall.hasBase(scope)).toBe(false);
    expect(await firewall.removeBase(scope)).toBe(true);
  });

  it('counts teardowns as done when the whole table is gone', async () => {
    await firewall.teardownEndpoint(scope, api);
    await firewall.teardownNetwork(scope, vault);
    expect(await ruleset()).toBe('');
  });

  it('lets two setupNetwork calls that both found no base race: both succeed, base rules once', async () => {
    const netns = await fixture.createNetns('race');
    await addBridges(netns, quiet.bridge);
    // Both calls look before either creates: the race happens every run, not by luck.
    const runner = new LookBarrierRunner(fixture.runner, 2);
    await Promise.all([web, quiet].map((network) => firewall.setupNetwork({ runner, netns }, network)));
    expect(runner.baseAttempts, runner.log.join('\n')).toBe(2);
    expect(runner.baseFailures, runner.log.join('\n')).toBe(1);

    const table = await listTable(fixture.runner, netns);
    expect(table.rules.filter((r) => r.comment === 'netmode')).toHaveLength(BASE_RULE_COUNT);
    expect(
      table.sets
        .get('bridges')
        ?.map((e) => e.key)
        .sort(),
    ).toEqual(['nm-quiet', 'nm-web']);
  });

  it('lets many setupNetwork calls race on a fresh namespace without duplicating the base', async () => {
    const netns = await fixture.createNetns('race8');
    const networks = Array.from({ length: 8 }, (_, i) => ({
      ...web,
      networkId: `n${i}`,
      bridge: `nm-r${i}`,
      subnets: [`10.231.${100 + i}.0/24`],
      // Half of them race for the table of isolated ports too.
      icc: i % 2 === 0,
    }));
    await addBridges(netns, ...networks.filter((n) => !n.icc).map((n) => n.bridge));
    await Promise.all(networks.map((network) => firewall.setupNetwork({ runner: fixture.runner, netns }, network)));
    const table = await listTable(fixture.runner, netns);
    expect(table.rules.filter((r) => r.comment === 'netmode')).toHaveLength(BASE_RULE_COUNT);
    expect(table.sets.get('bridges')).toHaveLength(8);
    const ports = await fixture.runner.run({ command: 'nft', args: ['list', 'table', 'bridge', 'netmode'], netns });
    expect(ports.stdout.match(/ether type != ip drop/g)).toHaveLength(1);
  });
});

/**
 * Holds the first `parties` table listings until all of them have finished,
 * so every caller sees "no base", and counts the base transactions.
 */
class LookBarrierRunner implements CommandRunner {
  baseAttempts = 0;
  baseFailures = 0;
  /** One line per command and its outcome, shown when an expectation fails. */
  readonly log: string[] = [];
  readonly #inner: CommandRunner;
  #waiting: number;
  readonly #allLooked: Promise<void>;
  #release: () => void = () => {};

  constructor(inner: CommandRunner, parties: number) {
    this.#inner = inner;
    this.#waiting = parties;
    this.#allLooked = new Promise((resolve) => {
      this.#release = resolve;
    });
  }

  async run(spec: CommandSpec): Promise<CommandResult> {
    const isBase = spec.input?.startsWith('add table inet') ?? false;
    if (isBase) this.baseAttempts += 1;
    const outcome = this.#inner.run(spec).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    if (spec.args[0] === '-j' && this.#waiting > 0) {
      this.#waiting -= 1;
      if (this.#waiting === 0) this.#release();
      await outcome;
      await this.#allLooked;
    }
    const settled = await outcome;
    this.log.push(`nft ${spec.args.join(' ')}${isBase ? ' (base)' : ''}: ${'error' in settled ? String(settled.error) : 'ok'}`);
    if ('error' in settled) {
      if (isBase) this.baseFailures += 1;
      throw settled.error;
    }
    return settled.result;
  }
}
