import {
  ErrorCode,
  MemoryStateStore,
  NftablesFirewall,
  NoFirewall,
  createNetMode,
  isNetModeError,
  type NetModeOptions,
  type NetworkSpec,
} from '@netmode/core';
import { RecordingRunner } from '@netmode/core/testing';
import { registerBridgeDriver } from '../src/index.js';
import { describe, expect, it } from 'vitest';
import { validateNetworkSpec } from '../src/network-settings.js';
import { resolveBridgeOptions, type BridgeDriverOptions } from '../src/options.js';

function refusal(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return isNetModeError(error, ErrorCode.INVALID_CONFIG) ? error.message : `unexpected: ${String(error)}`;
  }
}

describe('bridge driver options', () => {
  it("default to Docker's", () => {
    expect(resolveBridgeOptions({})).toEqual({
      bridge: undefined,
      gateway: '172.17.0.1',
      subnet: '172.17.0.0/16',
      bridgeName: 'netmode0',
      mtu: 1500,
      icc: true,
      ipMasq: true,
      ipForward: true,
      // The instance's firewall, unless a backend is named here.
      firewall: undefined,
      // The kernel's DNAT alone; the port holder keeps the host ports either way.
      userlandProxy: false,
    });
    expect(resolveBridgeOptions({ bip: '10.1.2.3/24' })).toMatchObject({ gateway: '10.1.2.3', subnet: '10.1.2.0/24' });
  });

  it.each<[BridgeDriverOptions, RegExp]>([
    [{ bridge: 'br0', bip: '10.0.0.1/24' }, /^bip: cannot be combined with bridge/],
    [{ bridge: 'br 0' }, /^bridge: /],
    [{ bridge: 'a-very-long-bridge-name' }, /^bridge: /],
    [{ bridge: 'br0\n' }, /^bridge: /],
    [{ bridge: 'br/0' }, /^bridge: /],
    [{ bip: '10.0.0.0/24' }, /network or broadcast/],
    [{ bip: '10.0.0.255/24' }, /network or broadcast/],
    [{ bip: '10.0.0.1/31' }, /30 or less/],
    [{ bip: '10.0.0.1' }, /^bip: /],
    [{ bip: 'fd00::1/64' }, /IPv4/],
    [{ bip: '10.0.0.300/24' }, /^bip: /],
    [{ mtu: 67 }, /^mtu: /],
    [{ mtu: 65536 }, /^mtu: /],
    [{ mtu: 1500.5 }, /^mtu: /],
    [{ icc: 'no' as unknown as boolean }, /^icc: /],
    [{ firewall: 7 as never }, /^firewall: must be the name of a firewall backend/],
    [{ bridgeName: 'x'.repeat(16) }, /^bridgeName: /],
  ])('refuse %j', (options, message) => {
    expect(refusal(() => resolveBridgeOptions(options))).toMatch(message);
  });
});

describe('bridge network specs', () => {
  const driver = resolveBridgeOptions({});
  const nftables = new NftablesFirewall();
  it.each<[Partial<NetworkSpec>, RegExp]>([
    [{ options: { colour: 'blue' } }, /options.colour: is not a bridge network option/],
    [{ options: { bridge: 'br0', bridgeName: 'br1' } }, /options.bridgeName: cannot be combined/],
    [{ options: { bridgeName: 'has space' } }, /options.bridgeName/],
    [{ options: { mtu: 10 } }, /options.mtu/],
    [{ options: { icc: 1 } }, /options.icc/],
    [{ subnets: [{ subnet: 'fd00::/64' }] }, /IPv4 subnets only/],
    [{ subnets: [{ subnet: '10.0.0.1/24' }] }, /network is 10.0.0.0\/24/],
    [{ subnets: [{ subnet: '10.0.0.0/24' }, { subnet: '10.0.1.0/24' }] }, /one subnet/],
  ])('refuse %j', (spec, message) => {
    expect(refusal(() => validateNetworkSpec({ name: 'n', driver: 'bridge', ...spec }, driver, nftables))).toMatch(message);
  });

  it('refuses icc false when its firewall backend cannot enforce it', () => {
    expect(refusal(() => validateNetworkSpec({ name: 'n', driver: 'bridge', options: { icc: false } }, driver, new NoFirewall()))).toMatch(
      /needs a firewall that enforces it; the none backend does not/,
    );
  });
});

describe('the bridge driver and its firewall backend', () => {
  const make = (options: Parameters<typeof registerBridgeDriver>[1], netmode: Partial<NetModeOptions> = {}) =>
    createNetMode({
      drivers: [(c) => registerBridgeDriver(c, options)],
      runner: new RecordingRunner(),
      store: new MemoryStateStore(),
      ...netmode,
    });

  it('refuses icc false with a backend that cannot enforce it, and a backend nobody registered, when the instance is made', () => {
    expect(refusal(() => make({ icc: false }, { firewall: 'none' }))).toMatch(
      /^icc: false needs a firewall that enforces it; the none backend does not/,
    );
    expect(refusal(() => make({ icc: false, firewall: 'none' }))).toMatch(/^icc: false needs a firewall/);
    expect(refusal(() => make({}, { firewall: 'pf' }))).toMatch(
      /^firewall: "pf" is not a registered firewall backend \(registered: nftables, iptables, none\)/,
    );
    expect(refusal(() => make({ firewall: 'pf' }))).toMatch(/^firewall: "pf" is not a registered firewall backend/);
  });

  it('refuses published ports with a backend that cannot publish them, before any command', async () => {
    const netmode = make({}, { firewall: 'none' });
    const error = await netmode.connect('web', 'bridge', { ports: [{ hostPort: 8080, containerPort: 80 }] }).catch((e: unknown) => e);
    expect(isNetModeError(error, ErrorCode.INVALID_CONFIG)).toBe(true);
    expect((error as Error).message).toMatch(/^ports: cannot be published with the none firewall backend/);
  });
});
