import { ErrorCode, isNetModeError, type NetworkSpec } from '@netmode/core';
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
      firewall: 'nftables',
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
    [{ icc: false, firewall: 'none' }, /firewall: none/],
    [{ firewall: 'pf' as never }, /^firewall: /],
    [{ bridgeName: 'x'.repeat(16) }, /^bridgeName: /],
  ])('refuse %j', (options, message) => {
    expect(refusal(() => resolveBridgeOptions(options))).toMatch(message);
  });
});

describe('bridge network specs', () => {
  const driver = resolveBridgeOptions({});
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
    expect(refusal(() => validateNetworkSpec({ name: 'n', driver: 'bridge', ...spec }, driver))).toMatch(message);
  });

  it('refuses icc false when the driver has no firewall', () => {
    const none = resolveBridgeOptions({ firewall: 'none' });
    expect(refusal(() => validateNetworkSpec({ name: 'n', driver: 'bridge', options: { icc: false } }, none))).toMatch(
      /needs a firewall/,
    );
  });
});
