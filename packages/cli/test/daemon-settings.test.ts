import { describe, expect, it } from 'vitest';
import { DAEMON_SETTINGS, parseGlobalOptions } from '../src/args/global-options.js';
import { givenSettings, settle } from '../src/settings/daemon-settings.js';

const given = (...argv: string[]) => givenSettings(parseGlobalOptions([...argv, 'ps']).globals);
const changed = (stored: Record<string, unknown> | undefined, ...argv: string[]) =>
  settle(stored as never, given(...argv)).changes.map((c) => [c.spec.long, c.inForce, c.given]);

describe('daemon settings: which are kept, and what is a change', () => {
  it('are every global option but the client-side ones, --iptables folded into --firewall', () => {
    expect(DAEMON_SETTINGS.map((s) => s.key)).toEqual([
      'bridge',
      'bip',
      'icc',
      'ipForward',
      'ipMasq',
      'userlandProxy',
      'mtu',
      'firewall',
      'hostNetns',
      'namePrefix',
      'driverPackages',
    ]);
    expect(given('--iptables=false', '--state-dir', '/x', '-D')).toEqual({ firewall: 'none' });
  });

  it('counts NETMODE_* variables as given', () => {
    expect(givenSettings(parseGlobalOptions(['ps'], { NETMODE_MTU: '1400', NETMODE_IP_FORWARD: 'false' }).globals)).toEqual({
      mtu: 1400,
      ipForward: false,
    });
  });

  it('takes the settings given when none are stored, with no change', () => {
    expect(settle(undefined, given('--mtu', '1400'))).toEqual({ inForce: { mtu: 1400 }, changes: [] });
  });

  it('keeps the stored settings for a command that gives none', () => {
    expect(settle({ mtu: 1400, ipForward: false }, {})).toEqual({ inForce: { mtu: 1400, ipForward: false }, changes: [] });
  });

  it('a value equal to the one in force, or to the default of one never given, is no change', () => {
    expect(changed({ mtu: 1400 }, '--mtu', '1400', '--icc', '--bip', '172.17.0.1/16', '--firewall', 'nftables')).toEqual([]);
    expect(
      changed({}, '--driver-package', '@netmode/driver-none,@netmode/driver-host,@netmode/driver-bridge,@netmode/driver-container'),
    ).toEqual([]);
  });

  it('names each setting given with another value, the value in force (or the default) and the one given', () => {
    expect(changed({ mtu: 1400 }, '--mtu', '1300', '--ip-forward=false', '--iptables=false')).toEqual([
      ['ip-forward', true, false],
      ['mtu', 1400, 1300],
      ['firewall', 'nftables', 'none'],
    ]);
    expect(changed({}, '--host-netns', 'h1')).toEqual([['host-netns', undefined, 'h1']]);
    expect(changed({ driverPackages: ['a'] }, '--driver-package', 'a,b')).toEqual([['driver-package', ['a'], ['a', 'b']]]);
  });

  it('-b and --bip exclude each other: giving one drops the other from those in force', () => {
    expect(settle({ bridge: 'br0' }, given('--bip', '172.17.0.1/16'))).toEqual({
      inForce: { bip: '172.17.0.1/16' },
      changes: [expect.objectContaining({ inForce: undefined, given: '172.17.0.1/16' })],
    });
    expect(settle({ bip: '10.1.0.1/24', mtu: 1400 }, given('-b', 'br0')).inForce).toEqual({ bridge: 'br0', mtu: 1400 });
  });

  it('keeps a stored setting this version does not know', () => {
    expect(settle({ someday: true }, given('--mtu', '1400')).inForce).toEqual({ someday: true, mtu: 1400 });
  });
});
