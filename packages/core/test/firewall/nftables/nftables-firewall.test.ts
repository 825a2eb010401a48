import { describe, expect, it } from 'vitest';
import { ErrorCode, NetModeError, isNetModeError } from '../../../src/errors.js';
import type { CommandSpec } from '../../../src/exec/runner.js';
import type { FirewallEndpoint, FirewallNetwork, FirewallPort, FirewallScope } from '../../../src/firewall/firewall.js';
import { baseScript } from '../../../src/firewall/nftables/base.js';
import { NftablesFirewall } from '../../../src/firewall/nftables/nftables-firewall.js';
import { namedNetns } from '../../../src/model/netns-ref.js';
import { RecordingRunner, commandMatches } from '../../../src/testing/recording-runner.js';
import { expectGolden, readFixture } from './golden.js';

const NETNS = namedNetns('nmhost');
// `nft -j -t list table inet netmode` of a freshly created base, recorded on nft 1.0.6.
const BASE_LISTING = readFixture('base-terse.json');
const NO_TABLE = 'Error: No such file or directory\nlist table inet netmode\n                 ^^^^^^^';
// `nft -j -t list table bridge netmode` of a fresh table of isolated ports.
const PORTS_LISTING = readFixture('isolated-ports-terse.json');
const NO_PORTS_TABLE = 'Error: No such file or directory\nlist table bridge netmode\n                   ^^^^^^^';

const isPortsListing = (spec: CommandSpec) => spec.command === 'nft' && spec.args.includes('bridge') && spec.args.includes('list');
const isListing = commandMatches('nft', '-j');
const isBridgeShow = commandMatches('ip', '-json', '-details');
// `ip -json -details link show dev BRIDGE` of a bridge with nf_call_iptables on (shortened).
const BRIDGE_NETFILTER_ON = '[{"ifname":"nm-br1","linkinfo":{"info_kind":"bridge","info_data":{"nf_call_iptables":1}}}]';
const isTransaction = commandMatches('nft', '-f', '-');

const network: FirewallNetwork = {
  networkId: 'n1',
  bridge: 'nm-br0',
  subnets: ['10.88.0.0/16'],
  icc: true,
  ipMasq: true,
  internal: false,
};

const endpoint: FirewallEndpoint = {
  endpointId: 'c1',
  networkId: 'n1',
  bridge: 'nm-br0',
  address: '10.88.0.2',
  ports: [],
};

const tcp80: FirewallPort = { protocol: 'tcp', hostPort: 8080, containerPort: 80, count: 1 };
const udpRange: FirewallPort = { protocol: 'udp', hostIp: '192.168.7.5', hostPort: 5000, containerPort: 6000, count: 3 };

/** A runner whose table exists with the whole base. */
function withBase(): RecordingRunner {
  return new RecordingRunner()
    .respond(isPortsListing, { stdout: PORTS_LISTING })
    .respond(isListing, { stdout: BASE_LISTING })
    .respond(isBridgeShow, { stdout: BRIDGE_NETFILTER_ON });
}

/** A runner whose namespace has no netmode table. */
function withoutTable(): RecordingRunner {
  return new RecordingRunner().failOn(isPortsListing, NO_PORTS_TABLE).failOn(isListing, NO_TABLE);
}

function scopeOf(runner: RecordingRunner): FirewallScope {
  return { runner, netns: NETNS };
}

async function errorOf(promise: Promise<unknown>): Promise<NetModeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof NetModeError)) throw new Error(`expected a NetModeError, got ${String(error)}`);
  return error;
}

describe('NftablesFirewall scripts', () => {
  const firewall = new NftablesFirewall();

  it('is named nftables and enforces everything', () => {
    expect(firewall.name).toBe('nftables');
    expect(firewall.capabilities).toEqual({ publishPorts: true, masquerade: true, isolate: true });
  });

  it('creates the base in one transaction of add table and create lines', () => {
    expectGolden('base', baseScript());
  });

  it('creates the base, then adds the network, when the table is missing', async () => {
    const runner = withoutTable();
    await firewall.setupNetwork(scopeOf(runner), network);
    expectGolden('setup-network-first', runner.transcript());
  });

  const networks: [string, FirewallNetwork][] = [
    ['icc-masq', network],
    ['icc-off', { ...network, networkId: 'n2', bridge: 'nm-br1', subnets: ['10.89.0.0/24'], icc: false }],
    ['internal', { ...network, networkId: 'n3', bridge: 'nm-br2', subnets: ['10.90.0.0/24'], internal: true, dnsAddress: '10.90.0.1' }],
    ['no-masq', { ...network, networkId: 'n4', bridge: 'nm-br3', subnets: ['10.91.0.0/24'], ipMasq: false }],
    ['two-subnets', { ...network, networkId: 'n5', bridge: 'nm-br4', subnets: ['10.92.0.0/24', '10.93.0.0/16'] }],
  ];

  for (const [name, config] of networks) {
    it(`sets up the ${name} network with a look at the table and one transaction`, async () => {
      const runner = withBase();
      await firewall.setupNetwork(scopeOf(runner), config);
      // An icc: false network also looks at the table of isolated ports and at its bridge's br_netfilter option.
      const ports = config.icc
        ? []
        : ['-j -t list table bridge netmode', '-n net.bridge.bridge-nf-call-iptables', `-json -details link show dev ${config.bridge}`];
      expect(runner.commands.map((c) => c.args.join(' '))).toEqual(['-j -t list table inet netmode', ...ports, '-f -']);
      expectGolden(`setup-network-${name}`, runner.transcript());
    });

    it(`tears down the ${name} network in one transaction, without looking`, async () => {
      const runner = withBase();
      await firewall.teardownNetwork(scopeOf(runner), config);
      expect(runner.commands).toHaveLength(1);
      expectGolden(`teardown-network-${name}`, runner.transcript());
    });
  }

  const endpoints: [string, readonly FirewallPort[]][] = [
    ['tcp-any', [tcp80]],
    ['udp-range-host-ip', [udpRange]],
    ['mixed', [tcp80, udpRange, { protocol: 'udp', hostPort: 53, containerPort: 53, count: 1 }]],
    // The userland proxy's ports: also the elements that leave its own bridge's and lo's packets unDNATed.
    [
      'proxied',
      [
        { ...tcp80, proxied: true },
        { ...udpRange, proxied: true },
      ],
    ],
  ];

  for (const [name, ports] of endpoints) {
    it(`publishes ${name} in one transaction, without looking at the table`, async () => {
      const runner = withBase();
      await firewall.setupEndpoint(scopeOf(runner), { ...endpoint, ports });
      expect(runner.commands).toHaveLength(1);
      expectGolden(`setup-endpoint-${name}`, runner.transcript());
    });

    it(`withdraws ${name} in one transaction`, async () => {
      const runner = withBase();
      await firewall.teardownEndpoint(scopeOf(runner), { ...endpoint, ports });
      expect(runner.commands).toHaveLength(1);
      expectGolden(`teardown-endpoint-${name}`, runner.transcript());
    });
  }

  it('starts no process to set up or tear down an endpoint without ports; tearing down by owner sweeps by its comment', async () => {
    const runner = withBase();
    await firewall.setupEndpoint(scopeOf(runner), endpoint);
    await firewall.teardownEndpoint(scopeOf(runner), endpoint);
    expect(runner.commands).toHaveLength(0);
    // What an owner left is unknown (a crashed attach): a listing of each table, and no transaction when nothing carries its comment.
    await firewall.teardownOwner(scopeOf(runner), { kind: 'endpoint', id: endpoint.endpointId });
    expect(runner.commands.map((c) => c.args.join(' '))).toEqual(['-j list table inet netmode', '-j list table bridge netmode']);
  });

  it('takes host address 0.0.0.0 as every address, as Docker does', async () => {
    const runner = withBase();
    await firewall.setupEndpoint(scopeOf(runner), {
      ...endpoint,
      ports: [{ protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, count: 1 }],
    });
    const scripts = runner.commands.filter(isTransaction).map((c) => c.input);
    expect(scripts).toEqual(['add element inet netmode pub_any4 { tcp . 8080 comment "endpoint:c1" : 10.88.0.2 . 80 }\n']);
  });

  it('passes the scope namespace and signal to every process', async () => {
    const runner = withoutTable();
    const signal = new AbortController().signal;
    await firewall.setupNetwork({ runner, netns: NETNS, signal }, network);
    expect(runner.commands.map((c) => [c.netns, c.signal])).toEqual(runner.commands.map(() => [NETNS, signal]));
  });
});

describe('NftablesFirewall base races and failures', () => {
  const firewall = new NftablesFirewall();

  it('takes a base that another process created meanwhile (its own transaction failing whole)', async () => {
    let looks = 0;
    const runner = new RecordingRunner()
      .respond(isListing, (spec) => (looks++ === 0 ? commandFailed(NO_TABLE)(spec) : { stdout: BASE_LISTING }))
      .respond(
        (spec) => isTransaction(spec) && (spec.input ?? '').startsWith('add table'),
        commandFailed('Error: Could not process rule: File exists'),
      );
    await firewall.setupNetwork(scopeOf(runner), network);
    expectGolden('setup-network-race', runner.transcript());
  });

  it('puts back what was deleted from the base: missing sets and chains, and each chain that lost a rule, whole', async () => {
    const partial = JSON.parse(BASE_LISTING) as { nftables: Record<string, { name?: string; chain?: string }>[] };
    let postrouting = 0;
    partial.nftables = partial.nftables.filter(
      (entry) =>
        entry['chain']?.name !== 'forward' &&
        entry['rule']?.chain !== 'forward' &&
        entry['set']?.name !== 'masq_bridges' &&
        !(entry['rule']?.chain === 'postrouting' && postrouting++ === 0),
    );
    let looks = 0;
    const runner = new RecordingRunner().respond(isListing, () => ({ stdout: looks++ === 0 ? JSON.stringify(partial) : BASE_LISTING }));
    await firewall.setupNetwork(scopeOf(runner), network);
    // Look, repair, look again (the repair is checked), then the elements.
    expect(runner.commands.map((c) => c.args.join(' '))).toEqual([
      '-j -t list table inet netmode',
      '-f -',
      '-j -t list table inet netmode',
      '-f -',
    ]);
    expectGolden('repair-base', runner.transcript());
  });

  it('reports a base it could not make whole, naming what it lacks, and adds no element', async () => {
    const partial = JSON.parse(BASE_LISTING) as { nftables: Record<string, { name?: string }>[] };
    partial.nftables = partial.nftables.filter((entry) => entry['chain']?.name !== 'forward');
    const runner = new RecordingRunner()
      .respond(isListing, { stdout: JSON.stringify(partial) })
      .failOn(isTransaction, 'Error: Could not process rule: Device or resource busy');
    const error = await errorOf(firewall.setupNetwork(scopeOf(runner), network));
    expect(error.code).toBe(ErrorCode.COMMAND_FAILED);
    expect(error.message).toMatch(/inet netmode could not be made whole: it lacks chain forward/);
    expect(error.context).toMatchObject({ networkId: 'n1', bridge: 'nm-br0', missing: ['chain forward'] });
    // Two tries, never an element added to a table without its forward chain.
    expect(runner.commands.filter(isTransaction).map((c) => c.input?.split('\n')[0])).toEqual([
      'add chain inet netmode forward { type filter hook forward priority filter; policy accept; comment "netmode"; }',
      'add chain inet netmode forward { type filter hook forward priority filter; policy accept; comment "netmode"; }',
    ]);
  });

  it('surfaces a failed transaction as the runner error, with the script and the owner in its context', async () => {
    const runner = withBase().failOn(isTransaction, 'Error: Could not process rule: File exists');
    const error = await errorOf(firewall.setupEndpoint(scopeOf(runner), { ...endpoint, ports: [tcp80] }));
    expect(error.code).toBe(ErrorCode.COMMAND_FAILED);
    expect(error.context).toMatchObject({ endpointId: 'c1', networkId: 'n1', stderr: expect.stringMatching(/File exists/) });
  });

  it('counts a teardown as done when the whole table is gone', async () => {
    const runner = withoutTable().failOn(isTransaction, 'Error: No such file or directory');
    await firewall.teardownNetwork(scopeOf(runner), network);
    await firewall.teardownEndpoint(scopeOf(runner), { ...endpoint, ports: [tcp80] });
    expect(runner.commands.map((c) => c.args[0])).toEqual(['-f', '-j', '-f', '-j']);
  });

  it('repeats a teardown after another owner took a key: removes only what still carries its own comment', async () => {
    const held = listing(
      {
        map: {
          name: 'pub_any4',
          type: ['inet_proto', 'inet_service'],
          map: 'ipv4_addr . inet_service',
          elem: [[{ elem: { val: { concat: ['tcp', 8080] }, comment: 'endpoint:other' } }, { concat: ['10.88.0.9', 80] }]],
        },
      },
      {
        map: {
          name: 'pub_ip4',
          type: ['ipv4_addr', 'inet_proto', 'inet_service'],
          map: 'ipv4_addr . inet_service',
          elem: [[{ elem: { val: { concat: ['192.168.7.5', 'udp', 5001] }, comment: 'endpoint:c1' } }, { concat: ['10.88.0.2', 6001] }]],
        },
      },
    );
    let transactions = 0;
    const runner = new RecordingRunner()
      .respond(isListing, { stdout: held })
      .respond(isTransaction, (spec) => (transactions++ === 0 ? commandFailed('Error: Could not process rule: File exists')(spec) : {}));
    await firewall.teardownEndpoint(scopeOf(runner), { ...endpoint, ports: [tcp80, udpRange] });
    expectGolden('teardown-endpoint-taken', runner.transcript());
  });

  it('repeats a network teardown after another network took an overlapping subnet', async () => {
    const held = listing(
      {
        set: {
          name: 'subnets4',
          type: 'ipv4_addr',
          flags: ['interval'],
          elem: [{ elem: { val: { prefix: { addr: '10.88.0.0', len: 24 } }, comment: 'network:other' } }],
        },
      },
      { set: { name: 'bridges', type: 'ifname', elem: [{ elem: { val: 'nm-br0', comment: 'network:n1' } }, 'nm-br9'] } },
    );
    let transactions = 0;
    const runner = new RecordingRunner()
      .respond(isListing, { stdout: held })
      .respond(isTransaction, (spec) => (transactions++ === 0 ? commandFailed('Error: interval overlaps with an existing one')(spec) : {}));
    await firewall.teardownNetwork(scopeOf(runner), network);
    expect(runner.commands.at(-1)?.input).toBe('delete element inet netmode bridges { "nm-br0" }\n');
  });

  it('fails a teardown when the table exists but a set is missing', async () => {
    const runner = withBase().failOn(isTransaction, 'Error: No such file or directory');
    const error = await errorOf(firewall.teardownNetwork(scopeOf(runner), network));
    expect(error.code).toBe(ErrorCode.COMMAND_FAILED);
    expect(error.context).toMatchObject({ networkId: 'n1' });
  });
});

describe('NftablesFirewall port isolation (icc: false)', () => {
  const firewall = new NftablesFirewall();
  const isolated: FirewallEndpoint = { ...endpoint, hostInterface: 'nmv1', icc: false, mac: '02:42:0A:58:00:02' };
  const transactions = (runner: RecordingRunner) => runner.commands.filter(isTransaction).map((c) => c.input);
  const ISOLATE =
    'add element bridge netmode isolated_ports { "nmv1" comment "endpoint:c1" }\n' +
    'add element bridge netmode port_macs { "nmv1" . 02:42:0a:58:00:02 comment "endpoint:c1" }\n' +
    'add element bridge netmode port_addrs4 { "nmv1" . 10.88.0.2 comment "endpoint:c1" }\n';

  it('isolates the bridge port (its name, MAC and address in one transaction), then publishes the ports', async () => {
    const runner = withBase();
    await firewall.setupEndpoint(scopeOf(runner), { ...isolated, ports: [tcp80] });
    expect(runner.commands).toHaveLength(2);
    expectGolden('setup-endpoint-isolated', runner.transcript());
  });

  it('starts one transaction for an isolated endpoint without ports, and none when icc is on', async () => {
    const runner = withBase();
    await firewall.setupEndpoint(scopeOf(runner), isolated);
    await firewall.setupEndpoint(scopeOf(runner), { ...isolated, icc: true });
    expect(transactions(runner)).toEqual([ISOLATE]);
  });

  it('releases the port again when publishing fails', async () => {
    const runner = withBase().failOn(
      (spec) => isTransaction(spec) && (spec.input ?? '').includes('pub_any4'),
      'Error: Could not process rule: File exists',
    );
    const error = await errorOf(firewall.setupEndpoint(scopeOf(runner), { ...isolated, ports: [tcp80] }));
    expect(error.context).toMatchObject({ endpointId: 'c1' });
    expect(transactions(runner).at(-1)).toBe(
      'add element bridge netmode isolated_ports { "nmv1" comment "endpoint:c1" }\n' +
        'delete element bridge netmode isolated_ports { "nmv1" }\n' +
        'add element bridge netmode port_macs { "nmv1" . 02:42:0a:58:00:02 comment "endpoint:c1" }\n' +
        'delete element bridge netmode port_macs { "nmv1" . 02:42:0a:58:00:02 }\n' +
        'add element bridge netmode port_addrs4 { "nmv1" . 10.88.0.2 comment "endpoint:c1" }\n' +
        'delete element bridge netmode port_addrs4 { "nmv1" . 10.88.0.2 }\n',
    );
  });

  it('withdraws the ports, then releases the port in one transaction', async () => {
    const runner = withBase();
    await firewall.teardownEndpoint(scopeOf(runner), { ...isolated, ports: [tcp80] });
    expect(runner.commands).toHaveLength(2);
    expectGolden('teardown-endpoint-isolated', runner.transcript());
  });

  it('counts a release as done when the table of isolated ports is gone', async () => {
    const runner = withBase()
      .failOn((spec) => isTransaction(spec) && (spec.input ?? '').includes('bridge netmode'), NO_PORTS_TABLE)
      .failOn(isPortsListing, NO_PORTS_TABLE);
    await firewall.teardownEndpoint(scopeOf(runner), isolated);
    expect(runner.commands.map((c) => c.args.join(' '))).toEqual(['-f -', '-j list table bridge netmode']);
  });

  /** The table of isolated ports holding these elements, as `nft -j list table bridge netmode` shows them. */
  const portsHolding = (elements: Record<string, unknown[]>) => {
    const held = JSON.parse(PORTS_LISTING) as { nftables: Record<string, Record<string, unknown>>[] };
    for (const entry of held.nftables) {
      const set = entry['set'];
      if (set && elements[String(set['name'])]) set['elem'] = elements[String(set['name'])];
    }
    return JSON.stringify(held);
  };
  const owned = (val: unknown, owner: string) => ({ elem: { val, comment: `endpoint:${owner}` } });

  it('removes what a crashed attach isolated, from every set, found by its comment', async () => {
    const held = portsHolding({
      isolated_ports: [owned('nmv1', 'c1'), owned('nmv2', 'c2')],
      port_macs: [owned({ concat: ['nmv1', '02:42:0a:58:00:02'] }, 'c1'), owned({ concat: ['nmv2', '02:42:0a:58:00:03'] }, 'c2')],
      port_addrs4: [owned({ concat: ['nmv1', '10.88.0.2'] }, 'c1'), owned({ concat: ['nmv2', '10.88.0.3'] }, 'c2')],
    });
    const runner = new RecordingRunner().respond(isPortsListing, { stdout: held }).respond(isListing, { stdout: BASE_LISTING });
    await firewall.teardownOwner(scopeOf(runner), { kind: 'endpoint', id: 'c1' });
    expect(transactions(runner)).toEqual([
      'delete element bridge netmode isolated_ports { "nmv1" }\n' +
        'delete element bridge netmode port_macs { "nmv1" . 02:42:0a:58:00:02 }\n' +
        'delete element bridge netmode port_addrs4 { "nmv1" . 10.88.0.2 }\n',
    ]);
  });

  it('sweeps by comment when the table lacks a set (made by an older netmode, not yet repaired)', async () => {
    const held = portsHolding({ isolated_ports: [owned('nmv1', 'c1')] });
    const runner = new RecordingRunner()
      .respond(isPortsListing, { stdout: held })
      .respond(isListing, { stdout: BASE_LISTING })
      .respond(
        (spec) => isTransaction(spec) && (spec.input ?? '').includes('port_macs'),
        commandFailed('Error: No such file or directory; did you mean set ‘isolated_ports’ in table bridge ‘netmode’?'),
      );
    await firewall.teardownEndpoint(scopeOf(runner), isolated);
    expect(transactions(runner).at(-1)).toBe('delete element bridge netmode isolated_ports { "nmv1" }\n');
  });

  it('refuses a listed key it would not have written, and deletes nothing', async () => {
    const held = portsHolding({ port_macs: [owned({ concat: ['nmv1', 'not-a-mac'] }, 'c1')] });
    const runner = new RecordingRunner().respond(isPortsListing, { stdout: held }).respond(isListing, { stdout: BASE_LISTING });
    const error = await errorOf(firewall.teardownOwner(scopeOf(runner), { kind: 'endpoint', id: 'c1' }));
    expect(error.code).toBe(ErrorCode.INVALID_CONFIG);
    expect(transactions(runner)).toEqual([]);
  });

  const invalid: [string, Partial<FirewallEndpoint>, RegExp][] = [
    ['a bad host interface', { hostInterface: 'nm v1' }, /hostInterface/],
    ['no MAC', { mac: undefined }, /mac: is needed/],
    ['a multicast MAC', { mac: '03:42:0a:58:00:02' }, /multicast/],
    ['a MAC with a quote', { mac: '02:42:0a:58:00:0"' }, /not a MAC address/],
    ['an IPv6 address', { address: 'fd00::2' }, /address/],
  ];
  for (const [what, change, message] of invalid) {
    it(`refuses ${what} before any process starts, for setup and teardown`, async () => {
      for (const call of [firewall.setupEndpoint.bind(firewall), firewall.teardownEndpoint.bind(firewall)]) {
        const runner = withBase();
        const error = await errorOf(call(scopeOf(runner), { ...isolated, ...change }));
        expect(error.code).toBe(ErrorCode.INVALID_CONFIG);
        expect(error.message).toMatch(message);
        expect(runner.commands).toHaveLength(0);
      }
    });
  }

  it('takes a table of isolated ports that another process created meanwhile', async () => {
    let looks = 0;
    const racing = new RecordingRunner()
      .respond(isPortsListing, (spec) => (looks++ === 0 ? commandFailed(NO_PORTS_TABLE)(spec) : { stdout: PORTS_LISTING }))
      .respond(isListing, { stdout: BASE_LISTING })
      .respond(isBridgeShow, { stdout: BRIDGE_NETFILTER_ON })
      .respond(
        (spec) => isTransaction(spec) && (spec.input ?? '').startsWith('add table bridge'),
        commandFailed('Error: Could not process rule: File exists'),
      );
    await firewall.setupNetwork(scopeOf(racing), { ...network, icc: false });
    expect(looks).toBe(2);
    // The network's own elements still went in after the lost race.
    expect(racing.commands.filter(isTransaction).at(-1)?.input).toMatch(/^add element inet netmode bridges/);
  });
});

describe('NftablesFirewall hasBase and removeBase', () => {
  const firewall = new NftablesFirewall();

  it('tells a whole base from a missing one', async () => {
    expect(await firewall.hasBase(scopeOf(withBase()))).toBe(true);
    expect(await firewall.hasBase(scopeOf(withoutTable()))).toBe(false);
  });

  it('deletes an unused table', async () => {
    const runner = new RecordingRunner().respond(isListing, { stdout: BASE_LISTING });
    expect(await firewall.removeBase(scopeOf(runner))).toBe(true);
    expectGolden('remove-base', runner.transcript());
  });

  it('keeps the table while a bridge is in it', async () => {
    const runner = new RecordingRunner().respond(isListing, {
      stdout: listing({ set: { name: 'bridges', elem: [{ elem: { val: 'nm-br0', comment: 'network:n1' } }] } }),
    });
    expect(await firewall.removeBase(scopeOf(runner))).toBe(false);
    expect(runner.commands).toHaveLength(1);
  });

  it("keeps the table while the administrator's user chain has rules", async () => {
    const runner = new RecordingRunner().respond(isListing, {
      stdout: listing({ rule: { chain: 'user', expr: [{ accept: null }] } }),
    });
    expect(await firewall.removeBase(scopeOf(runner))).toBe(false);
    expect(runner.commands).toHaveLength(1);
  });

  it('counts missing tables as removed', async () => {
    const runner = withoutTable();
    expect(await firewall.removeBase(scopeOf(runner))).toBe(true);
    expect(runner.commands.map((c) => c.args.join(' '))).toEqual(['-j list table inet netmode', '-j list table bridge netmode']);
  });

  it('keeps the table of isolated ports while a port is in it', async () => {
    const held = PORTS_LISTING.replace(
      '"comment": "netmode"}',
      '"comment": "netmode", "elem": [{"elem": {"val": "nmv1", "comment": "endpoint:c1"}}]}',
    );
    expect(held).not.toBe(PORTS_LISTING);
    const runner = new RecordingRunner().respond(isPortsListing, { stdout: held }).respond(isListing, { stdout: BASE_LISTING });
    expect(await firewall.removeBase(scopeOf(runner))).toBe(false);
    expect(runner.commands.filter(isTransaction).map((c) => c.input)).toEqual(['delete table inet netmode\n']);
  });
});

describe('NftablesFirewall validation', () => {
  const firewall = new NftablesFirewall();
  const ep = (ports: readonly FirewallPort[], extra: Partial<FirewallEndpoint> = {}): FirewallEndpoint => ({
    ...endpoint,
    ...extra,
    ports,
  });

  const invalidNetworks: [string, FirewallNetwork, RegExp][] = [
    ['a network id with a quote', { ...network, networkId: 'n"1' }, /networkId/],
    ['an empty network id', { ...network, networkId: '' }, /networkId/],
    ['a network id of 129 characters', { ...network, networkId: 'n'.repeat(129) }, /networkId/],
    ['a bridge name of 16 characters', { ...network, bridge: 'b'.repeat(16) }, /bridge/],
    ['a bridge name with a space', { ...network, bridge: 'br 0' }, /bridge/],
    ['a malformed subnet', { ...network, subnets: ['10.0.1.300/24'] }, /subnets\[0\]/],
    ['a subnet with host bits', { ...network, subnets: ['10.88.0.1/16'] }, /host bits/],
    ['an IPv6 subnet', { ...network, subnets: ['fd00::/64'] }, /IPv4 only/],
    ['overlapping subnets', { ...network, subnets: ['10.88.0.0/16', '10.88.1.0/24'] }, /overlaps/],
    ['a flag that is not a boolean', { ...network, icc: 'false' as unknown as boolean }, /icc/],
  ];

  for (const [what, config, message] of invalidNetworks) {
    it(`refuses a network with ${what}, starting nothing`, async () => {
      for (const call of [firewall.setupNetwork.bind(firewall), firewall.teardownNetwork.bind(firewall)]) {
        const runner = withBase();
        const error = await errorOf(call(scopeOf(runner), config));
        expect(isNetModeError(error, ErrorCode.INVALID_CONFIG)).toBe(true);
        expect(error.message).toMatch(message);
        expect(runner.commands).toHaveLength(0);
      }
    });
  }

  const invalidEndpoints: [string, FirewallEndpoint, RegExp][] = [
    ['an endpoint id with a space', ep([tcp80], { endpointId: 'c 1' }), /endpointId/],
    ['an endpoint id starting with a dash', ep([tcp80], { endpointId: '-c1' }), /endpointId/],
    ['a network id with a backslash', ep([tcp80], { networkId: 'n\\1' }), /networkId/],
    ['a bridge name with a quote', ep([tcp80], { bridge: 'br"0' }), /bridge/],
    ['a malformed address', ep([tcp80], { address: '10.88.0.300' }), /address/],
    ['a host name as address', ep([tcp80], { address: 'example.com' }), /address/],
    ['an address with a prefix length', ep([tcp80], { address: '10.88.0.2/16' }), /address/],
    ['an IPv6 address', ep([tcp80], { address: 'fd00::2' }), /IPv4 only/],
    ['an IPv6 host address', ep([{ ...tcp80, hostIp: 'fd00::1' }]), /IPv4 only/],
    ['a malformed host address', ep([{ ...tcp80, hostIp: '1.2.3' }]), /hostIp/],
    ['protocol sctp', ep([{ ...tcp80, protocol: 'sctp' as 'tcp' }]), /protocol/],
    ['host port 0', ep([{ ...tcp80, hostPort: 0 }]), /hostPort/],
    ['host port 65536', ep([{ ...tcp80, hostPort: 65536 }]), /hostPort/],
    ['a fractional container port', ep([{ ...tcp80, containerPort: 80.5 }]), /containerPort/],
    ['count 0', ep([{ ...tcp80, count: 0 }]), /count/],
    ['a host range past 65535', ep([{ ...tcp80, hostPort: 65534, count: 3 }]), /count/],
    ['a container range past 65535', ep([{ ...tcp80, containerPort: 65535, count: 2 }]), /count/],
    ['the same port twice', ep([tcp80, { ...tcp80, hostPort: 8079, count: 2 }]), /8080 .*second time/],
  ];

  for (const [what, config, message] of invalidEndpoints) {
    it(`refuses ${what}, starting nothing`, async () => {
      for (const call of [firewall.setupEndpoint.bind(firewall), firewall.teardownEndpoint.bind(firewall)]) {
        const runner = withBase();
        const error = await errorOf(call(scopeOf(runner), config));
        expect(isNetModeError(error, ErrorCode.INVALID_CONFIG)).toBe(true);
        expect(error.message).toMatch(message);
        expect(runner.commands).toHaveLength(0);
      }
    });
  }

  it('accepts a range that ends exactly at 65535', async () => {
    const runner = withBase();
    await firewall.setupEndpoint(scopeOf(runner), ep([{ ...tcp80, hostPort: 65533, containerPort: 65533, count: 3 }]));
    expect(runner.commands[0]?.input?.split('\n').filter(Boolean)).toHaveLength(3);
  });
});

/** A runner reply that fails as nft does: ERR_COMMAND_FAILED with the stderr in context. */
function commandFailed(stderr: string): (spec: CommandSpec) => NetModeError {
  return (spec) =>
    new NetModeError(ErrorCode.COMMAND_FAILED, `nft failed: ${stderr}`, {
      context: { argv: [spec.command, ...spec.args], stderr, exitCode: 1, input: spec.input },
    });
}

/** A minimal `nft -j list table` output, shaped as nft 1.0.6 prints it: the table plus `entries`. */
function listing(...entries: Record<string, Record<string, unknown>>[]): string {
  return JSON.stringify({
    nftables: [
      { metainfo: { version: '1.0.6', json_schema_version: 1 } },
      { table: { family: 'inet', name: 'netmode', handle: 1 } },
      ...entries.map((entry) => {
        const [kind, body] = Object.entries(entry)[0] as [string, Record<string, unknown>];
        return { [kind]: { family: 'inet', table: 'netmode', ...body } };
      }),
    ],
  });
}
