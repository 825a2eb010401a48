import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, NetModeError, isNetModeError } from '../../../src/errors.js';
import type { FirewallEndpoint, FirewallNetwork, FirewallPort, FirewallScope } from '../../../src/firewall/firewall.js';
import { IptablesFirewall } from '../../../src/firewall/iptables/iptables-firewall.js';
import { commandMatches, RecordingRunner } from '../../../src/testing/recording-runner.js';
import { EP_A, EP_B, NET_A, NET_B, NET_C, NET_D, expectGolden, fakeSave, readFixture } from './support.js';

const HOST = { kind: 'named', name: 'nt-host' } as const;
const firewall = new IptablesFirewall();
const save = commandMatches('iptables-save');
const nftListing = commandMatches('nft', '-j');
// `nft -j -t list table bridge netmode` of a fresh table of isolated ports (icc: false), recorded on nft 1.0.6.
const PORTS_LISTING = readFileSync(fileURLToPath(new URL('../nftables/fixtures/isolated-ports-terse.json', import.meta.url)), 'utf8');
const restore = commandMatches('iptables-restore');

// Real iptables-save output, written by the integration test: the base alone,
// and the base with NET_A–NET_D and EP_A, EP_B.
// `ip -json -details link show dev BRIDGE` of a bridge with nf_call_iptables on (shortened).
const BRIDGE_NETFILTER_ON = '[{"ifname":"nm-b","linkinfo":{"info_kind":"bridge","info_data":{"nf_call_iptables":1}}}]';
let BASE = '';
let FULL = '';
beforeAll(async () => {
  BASE = await readFixture('base');
  FULL = await readFixture('full');
});

/** A runner whose iptables-save prints `state`, and the scope around it. */
function host(state: string): { runner: RecordingRunner; scope: FirewallScope } {
  const runner = new RecordingRunner()
    .respond(save, fakeSave(state))
    .respond(nftListing, { stdout: PORTS_LISTING })
    .respond(commandMatches('ip', '-json', '-details'), { stdout: BRIDGE_NETFILTER_ON });
  return { runner, scope: { runner, netns: HOST } };
}

describe('IptablesFirewall restore scripts', () => {
  it.each([
    ['base-empty-host', '', (s: FirewallScope) => firewall.ensureBase(s)],
    ['network-empty-host', '', (s: FirewallScope) => firewall.setupNetwork(s, NET_A)],
    ['network-icc', 'base', (s: FirewallScope) => firewall.setupNetwork(s, NET_A)],
    ['network-icc-off', 'base', (s: FirewallScope) => firewall.setupNetwork(s, NET_B)],
    ['network-internal', 'base', (s: FirewallScope) => firewall.setupNetwork(s, NET_C)],
    ['network-two-subnets', 'base', (s: FirewallScope) => firewall.setupNetwork(s, NET_D)],
    ['network-teardown', 'full', (s: FirewallScope) => firewall.teardownNetwork(s, NET_B)],
    ['endpoint-tcp-every-address', 'base', (s: FirewallScope) => firewall.setupEndpoint(s, EP_A)],
    ['endpoint-udp-range-host-ip', 'full', (s: FirewallScope) => firewall.setupEndpoint(s, { ...EP_B, endpointId: 'ep-c' })],
    ['endpoint-teardown', 'full', (s: FirewallScope) => firewall.teardownEndpoint(s, EP_B)],
    // The userland proxy's ports: not DNATed from their own bridge nor to 127.0.0.0/8; one on 127.0.0.1 is the proxy's alone.
    [
      'endpoint-proxied',
      'base',
      (s: FirewallScope) =>
        firewall.setupEndpoint(s, {
          ...EP_A,
          ports: [
            { protocol: 'tcp', hostPort: 8080, containerPort: 80, count: 1, proxied: true },
            { protocol: 'udp', hostIp: '10.231.255.1', hostPort: 5000, containerPort: 6000, count: 1, proxied: true },
            { protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 8081, containerPort: 81, count: 1, proxied: true },
          ],
        }),
    ],
    ['endpoint-empty-host', '', (s: FirewallScope) => firewall.setupEndpoint(s, EP_A)],
    ['remove-base', 'base', (s: FirewallScope) => firewall.removeBase(s)],
  ])('%s (state: %s)', async (name, state, change) => {
    const { runner, scope } = host(state === 'base' ? BASE : state === 'full' ? FULL : '');
    await change(scope);
    expect(runner.commands.filter(restore)).toHaveLength(1);
    await expectGolden(name, `${runner.transcript()}\n`);
  });

  it.each([
    ['every network', (s: FirewallScope) => Promise.all([NET_A, NET_B, NET_C, NET_D].map((n) => firewall.setupNetwork(s, n)))],
    ['every endpoint', (s: FirewallScope) => Promise.all([EP_A, EP_B].map((e) => firewall.setupEndpoint(s, e)))],
    ['the base', (s: FirewallScope) => firewall.ensureBase(s)],
  ])('starts no restore when %s already exists', async (_, change) => {
    const { runner, scope } = host(FULL);
    await change(scope);
    expect(runner.commands.filter(restore)).toEqual([]);
  });

  it('reads only the nat table for an endpoint, and everything at once for a network', async () => {
    const { runner, scope } = host(FULL);
    await firewall.setupEndpoint(scope, EP_A);
    await firewall.setupNetwork(scope, NET_A);
    expect(runner.commands.map((c) => [c.command, ...c.args].join(' '))).toEqual(['iptables-save -t nat', 'iptables-save']);
  });

  it.each([
    ['a network', (s: FirewallScope) => firewall.teardownNetwork(s, NET_A)],
    ['an endpoint', (s: FirewallScope) => firewall.teardownEndpoint(s, EP_A)],
  ])('starts no restore when tearing down %s that is gone', async (_, change) => {
    for (const state of ['', BASE]) {
      const { runner, scope } = host(state);
      await change(scope);
      expect(runner.commands.filter(restore)).toEqual([]);
    }
  });

  it('repairs a network whose rules are out of order: deletes them and appends them again', async () => {
    const lines = FULL.split('\n');
    const take = (text: string) => lines.splice(lines.indexOf(text), 1);
    // The network's last forward rule moved before its first one.
    const [drop] = take('-A NETMODE-FORWARD -o nm-a -m comment --comment "netmode:network:net-a" -j DROP');
    lines.splice(
      lines.indexOf('-A NETMODE-FORWARD -i nm-a -o nm-a -m comment --comment "netmode:network:net-a" -j ACCEPT'),
      0,
      drop as string,
    );
    const { runner, scope } = host(lines.join('\n'));
    await firewall.setupNetwork(scope, NET_A);
    await expectGolden('network-repair', `${runner.transcript()}\n`);
  });

  it('keeps the base (and starts no restore) while a network still has rules', async () => {
    const { runner, scope } = host(FULL);
    expect(await firewall.removeBase(scope)).toBe(false);
    expect(runner.commands.filter(restore)).toEqual([]);
  });

  it("keeps a NETMODE-USER that holds the administrator's rules when removing the base", async () => {
    const withRule = BASE.replace('COMMIT\n*nat', '-A NETMODE-USER -s 192.0.2.0/24 -j DROP\nCOMMIT\n*nat');
    const { runner, scope } = host(withRule);
    expect(await firewall.removeBase(scope)).toBe(true);
    const script = runner.commands.find(restore)?.input ?? '';
    expect(script).toContain('-X NETMODE-FORWARD\n');
    expect(script).not.toMatch(/^(-X NETMODE-USER|-F |-D NETMODE-USER )/m);
  });

  it('reports the base', async () => {
    expect(await firewall.hasBase(host(FULL).scope)).toBe(true);
    expect(await firewall.hasBase(host(BASE).scope)).toBe(true);
    expect(await firewall.hasBase(host('').scope)).toBe(false);
    expect(await firewall.hasBase(host(BASE.replace(/^-A PREROUTING .*NETMODE-GUARD\n/m, '')).scope)).toBe(false);
  });
});

describe('IptablesFirewall failures', () => {
  it('reads again and retries once when a concurrent creator got there first', async () => {
    let reads = 0;
    // The first read sees an empty host; by the time the restore runs, another process has made the base.
    const runner = new RecordingRunner()
      .respond(save, () => ({ stdout: reads++ === 0 ? '' : BASE }))
      .failOn((spec) => restore(spec) && spec.input?.includes('-N ') === true, 'iptables-restore: line 2 failed: Chain already exists.');
    await firewall.setupNetwork({ runner, netns: HOST }, NET_A);
    expect(runner.commands.map((c) => c.command)).toEqual(['iptables-save', 'iptables-restore', 'iptables-save', 'iptables-restore']);
    await expectGolden('retry-after-concurrent-creator', `${runner.transcript()}\n`);
  });

  it('rolls back a fresh setup that fails twice, and says so', async () => {
    let reads = 0;
    // Raw and filter commit, nat fails: the second read sees the network's raw and filter rules.
    const partial = FULL.split('\n')
      .filter((l) => !/ep-|net-b|net-c|net\.d/.test(l))
      .filter((l) => !(l.includes('net-a') && /NETMODE-(POSTROUTING|HAIRPIN)/.test(l)))
      .join('\n');
    const runner = new RecordingRunner()
      .respond(save, () => ({ stdout: reads++ < 2 ? BASE : partial }))
      .failOn((spec) => restore(spec) && spec.input?.includes('MASQUERADE') === true, 'iptables-restore: line 9 failed');
    const error = (await firewall.setupNetwork({ runner, netns: HOST }, NET_A).catch((e: unknown) => e)) as NetModeError;
    expect(isNetModeError(error, ErrorCode.COMMAND_FAILED)).toBe(true);
    expect(error.context).toMatchObject({ owner: 'netmode:network:net-a', rolledBack: true });
    await expectGolden('rollback-after-failed-setup', `${runner.transcript()}\n`);
  });

  it('does not retry when the tool is missing', async () => {
    const missing = new NetModeError(ErrorCode.MISSING_TOOL, 'iptables-restore is not installed');
    const runner = new RecordingRunner().respond(save, fakeSave(BASE)).respond(restore, missing);
    await expect(firewall.setupNetwork({ runner, netns: HOST }, NET_A)).rejects.toBe(missing);
    // The third command is the rollback's read, which finds nothing to undo.
    expect(runner.commands.map((c) => c.command)).toEqual(['iptables-save', 'iptables-restore', 'iptables-save']);
  });
});

const port = (p: Partial<FirewallPort>): FirewallPort => ({ protocol: 'tcp', hostPort: 8080, containerPort: 80, count: 1, ...p });
const network = (n: Record<string, unknown>) => ({ ...NET_A, ...n }) as unknown as FirewallNetwork;
const endpoint = (e: Record<string, unknown>) => ({ ...EP_A, ...e }) as unknown as FirewallEndpoint;

describe('IptablesFirewall on a host without nft', () => {
  const noNft = () =>
    new RecordingRunner()
      .respond(save, fakeSave(BASE))
      .respond(commandMatches('nft'), () => new NetModeError(ErrorCode.MISSING_TOOL, 'nft is not installed: install the nftables package'));

  it('tears down a crashed attach and removes the base: the table of isolated ports cannot exist there', async () => {
    const runner = noNft();
    const scope = { runner, netns: HOST };
    await firewall.teardownEndpoint(scope, { ...EP_A, ports: [] });
    expect(await firewall.removeBase(scope)).toBe(true);
    expect(runner.commands.filter((c) => c.command === 'iptables-restore')).toHaveLength(1);
  });

  it('still needs nft for an icc: false network, and says which package', async () => {
    const error = await firewall.setupNetwork({ runner: noNft(), netns: HOST }, NET_B).catch((e: unknown) => e);
    expect(isNetModeError(error, ErrorCode.MISSING_TOOL)).toBe(true);
  });
});

describe('IptablesFirewall validation', () => {
  it.each([
    ['a network id with a space', (s) => firewall.setupNetwork(s, network({ networkId: 'net a' }))],
    ['a network id with a quote', (s) => firewall.setupNetwork(s, network({ networkId: 'net"a' }))],
    ['a network id of 129 characters', (s) => firewall.setupNetwork(s, network({ networkId: 'n'.repeat(129) }))],
    ['an empty network id', (s) => firewall.setupNetwork(s, network({ networkId: '' }))],
    ['a bridge name of 16 characters', (s) => firewall.setupNetwork(s, network({ bridge: 'b'.repeat(16) }))],
    ['a bridge name with a wildcard', (s) => firewall.setupNetwork(s, network({ bridge: 'nm+' }))],
    ['a bridge name with a space', (s) => firewall.setupNetwork(s, network({ bridge: 'nm a' }))],
    ['an IPv6 subnet', (s) => firewall.setupNetwork(s, network({ subnets: ['fd00::/64'] }))],
    ['a subnet with host bits', (s) => firewall.setupNetwork(s, network({ subnets: ['172.30.1.1/24'] }))],
    ['a malformed subnet', (s) => firewall.setupNetwork(s, network({ subnets: ['172.30.1.300/24'] }))],
    ['the whole address space', (s) => firewall.setupNetwork(s, network({ subnets: ['0.0.0.0/0'] }))],
    ['a non-boolean icc', (s) => firewall.setupNetwork(s, network({ icc: 'yes' }))],
    ['a network id to tear down with a newline', (s) => firewall.teardownNetwork(s, network({ networkId: 'a\n-F' }))],
    ['an endpoint id with a slash', (s) => firewall.setupEndpoint(s, endpoint({ endpointId: 'a/b' }))],
    ['an endpoint id to tear down with a quote', (s) => firewall.teardownEndpoint(s, endpoint({ endpointId: '"x' }))],
    ['an endpoint network id that is empty', (s) => firewall.setupEndpoint(s, endpoint({ networkId: '' }))],
    ['an endpoint bridge that is too long', (s) => firewall.setupEndpoint(s, endpoint({ bridge: 'x'.repeat(16) }))],
    ['an IPv6 container address', (s) => firewall.setupEndpoint(s, endpoint({ address: 'fd00::2' }))],
    ['a container address with a prefix', (s) => firewall.setupEndpoint(s, endpoint({ address: '172.30.1.2/24' }))],
    ['an IPv6 host address', (s) => firewall.setupEndpoint(s, endpoint({ ports: [port({ hostIp: '::1' })] }))],
    ['a host name as host address', (s) => firewall.setupEndpoint(s, endpoint({ ports: [port({ hostIp: 'localhost' })] }))],
    ['host port 0', (s) => firewall.setupEndpoint(s, endpoint({ ports: [port({ hostPort: 0 })] }))],
    ['host port 65536', (s) => firewall.setupEndpoint(s, endpoint({ ports: [port({ hostPort: 65536 })] }))],
    ['container port 1.5', (s) => firewall.setupEndpoint(s, endpoint({ ports: [port({ containerPort: 1.5 })] }))],
    ['count 0', (s) => firewall.setupEndpoint(s, endpoint({ ports: [port({ count: 0 })] }))],
    ['a range past 65535', (s) => firewall.setupEndpoint(s, endpoint({ ports: [port({ hostPort: 65535, count: 2 })] }))],
    ['a container range past 65535', (s) => firewall.setupEndpoint(s, endpoint({ ports: [port({ containerPort: 65530, count: 7 })] }))],
    ['protocol sctp', (s) => firewall.setupEndpoint(s, endpoint({ ports: [port({ protocol: 'sctp' as 'tcp' })] }))],
  ] as [string, (s: FirewallScope) => Promise<unknown>][])(
    'refuses %s with ERR_INVALID_CONFIG before starting anything',
    async (_, call) => {
      const { runner, scope } = host(FULL);
      const error = await call(scope).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isNetModeError(error, ErrorCode.INVALID_CONFIG)).toBe(true);
      expect(runner.commands).toEqual([]);
    },
  );

  it('says that only IPv4 is supported', async () => {
    const { runner, scope } = host('');
    await expect(firewall.setupNetwork(scope, network({ subnets: ['fd00::/64'] }))).rejects.toThrow(/IPv4 only/);
    await expect(firewall.setupEndpoint(scope, endpoint({ address: 'fd00::2' }))).rejects.toThrow(/IPv4 only/);
    expect(runner.commands).toEqual([]);
  });

  it('takes 0.0.0.0 as every address, as Docker does', async () => {
    const { runner, scope } = host(BASE);
    await firewall.setupEndpoint(scope, endpoint({ ports: [port({ hostIp: '0.0.0.0' })] }));
    expect(runner.commands.find(restore)?.input).toContain(
      '-A NETMODE-DNAT -p tcp -m tcp --dport 8080 -m comment --comment "netmode:endpoint:ep-a" -j DNAT --to-destination 172.30.1.2:80\n',
    );
  });
});
