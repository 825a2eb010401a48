import { describe, expect, it } from 'vitest';
import { parseGlobalOptions } from '../src/args/global-options.js';
import { splitAtCommand } from '../src/args/subcommand.js';
import { parseDriverOption } from '../src/args/driver-option.js';
import { run } from '../src/declarations/run.js';
import { optionTable } from '../src/registry/parse-command.js';
import { bridgeOptions } from '../src/drivers/bridge-options.js';

const usageMessage = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect((error as { code?: string }).code).toBe('ERR_USAGE');
    return (error as Error).message;
  }
  throw new Error('expected a usage error');
};

describe('global options', () => {
  it('stop at the subcommand and keep its options for it', () => {
    const parsed = parseGlobalOptions(['--bip', '10.1.0.1/24', 'run', '--name', 'x', '--icc=false', '--', 'true']);
    expect(parsed.globals.bip).toBe('10.1.0.1/24');
    expect(parsed.globals.icc).toBeUndefined();
    expect(parsed.rest).toEqual(['run', '--name', 'x', '--icc=false', '--', 'true']);
  });

  it("take Docker's spellings", () => {
    const { globals } = parseGlobalOptions([
      '-b',
      'br0',
      '--icc=false',
      '--ip-forward=false',
      '--ip-masq=true',
      '--mtu=1400',
      '--firewall',
      'iptables',
      '--state-dir=/tmp/s',
      '--host-netns',
      'h',
      '--name-prefix',
      'ab-',
      '-D',
      'ps',
    ]);
    expect(globals).toEqual({
      bridge: 'br0',
      icc: false,
      ipForward: false,
      ipMasq: true,
      mtu: 1400,
      firewall: 'iptables',
      stateDir: '/tmp/s',
      hostNetns: 'h',
      namePrefix: 'ab-',
      debug: true,
    });
    expect(parseGlobalOptions(['-bbr1', 'ps']).globals.bridge).toBe('br1');
    expect(parseGlobalOptions(['--icc', 'ps']).globals.icc).toBe(true);
  });

  it('default the state directory and leave unset options unset', () => {
    expect(parseGlobalOptions(['ps']).globals).toEqual({ stateDir: '/var/lib/netmode', debug: false });
  });

  it('--iptables=false means no firewall', () => {
    expect(parseGlobalOptions(['--iptables=false', 'ps']).globals.firewall).toBe('none');
    expect(parseGlobalOptions(['--iptables=true', 'ps']).globals.firewall).toBeUndefined();
    expect(usageMessage(() => parseGlobalOptions(['--iptables=false', '--firewall', 'nftables', 'ps']))).toContain('contradict');
    expect(usageMessage(() => parseGlobalOptions(['--iptables=true', '--firewall=none', 'ps']))).toContain('contradict');
  });

  it('read NETMODE_* variables, and a flag wins over its variable', () => {
    const env = {
      NETMODE_BIP: '10.9.0.1/24',
      NETMODE_ICC: 'false',
      NETMODE_MTU: '1450',
      NETMODE_FIREWALL: 'iptables',
      NETMODE_STATE_DIR: '/s',
      NETMODE_HOST_NETNS: 'h',
    };
    expect(parseGlobalOptions(['ps'], env).globals).toEqual({
      bip: '10.9.0.1/24',
      icc: false,
      mtu: 1450,
      firewall: 'iptables',
      stateDir: '/s',
      hostNetns: 'h',
      debug: false,
    });
    const flagged = parseGlobalOptions(['--bip', '10.8.0.1/24', '--icc=true', '--firewall=nftables', 'ps'], env).globals;
    expect([flagged.bip, flagged.icc, flagged.firewall]).toEqual(['10.8.0.1/24', true, 'nftables']);
    // A flag beats a contradicting variable of the other spelling.
    expect(parseGlobalOptions(['--iptables=false', 'ps'], { NETMODE_FIREWALL: 'nftables' }).globals.firewall).toBe('none');
    expect(parseGlobalOptions(['--firewall', 'iptables', 'ps'], { NETMODE_IPTABLES: 'false' }).globals.firewall).toBe('iptables');
    expect(parseGlobalOptions(['ps'], { NETMODE_IPTABLES: 'false' }).globals.firewall).toBe('none');
    expect(parseGlobalOptions(['ps'], { NETMODE_ICC: '' }).globals.icc).toBeUndefined();
  });

  it('refuse malformed values, naming the flag or variable', () => {
    expect(usageMessage(() => parseGlobalOptions(['--icc', 'false', 'ps']))).toContain('write --icc=false');
    expect(usageMessage(() => parseGlobalOptions(['--icc=no', 'ps']))).toContain('--icc must be true or false');
    expect(usageMessage(() => parseGlobalOptions(['--mtu', '15x', 'ps']))).toContain('--mtu must be a whole number');
    // Any backend name passes here: which are registered is the SDK's to say.
    expect(parseGlobalOptions(['--firewall', 'pf', 'ps']).globals.firewall).toBe('pf');
    expect(usageMessage(() => parseGlobalOptions(['--firewall', 'p f', 'ps']))).toContain('must be the name of a firewall backend');
    expect(usageMessage(() => parseGlobalOptions(['--bip']))).toContain('--bip needs a value');
    expect(usageMessage(() => parseGlobalOptions(['--nope', 'ps']))).toContain('unknown global option --nope');
    expect(usageMessage(() => parseGlobalOptions(['--name', 'x', 'run']))).toContain('belongs after the subcommand');
    expect(usageMessage(() => parseGlobalOptions(['ps'], { NETMODE_MTU: 'big' }))).toContain('NETMODE_MTU');
    expect(usageMessage(() => parseGlobalOptions(['ps'], { NETMODE_ICC: 'yes' }))).toContain('NETMODE_ICC');
  });

  it('map onto the bridge driver options', () => {
    const { globals } = parseGlobalOptions(['--bip=10.1.0.1/24', '--icc=false', '--mtu', '1400', '--iptables=false', 'ps']);
    // The firewall is the instance's (createNetMode({ firewall })), not the bridge driver's.
    expect(bridgeOptions(globals)).toEqual({ bip: '10.1.0.1/24', icc: false, mtu: 1400 });
    expect(globals.firewall).toBe('none');
    expect(bridgeOptions(parseGlobalOptions(['ps']).globals)).toEqual({});
  });
});

describe('run and exec split their own options from the command', () => {
  it.each([
    [
      ['--name', 'x', '--', 'ip', '-br', 'a'],
      ['--name', 'x'],
      ['ip', '-br', 'a'],
    ],
    [
      ['--net', 'none', 'node', '-e', '1'],
      ['--net', 'none'],
      ['node', '-e', '1'],
    ],
    [
      ['-d', '-p', '80', 'sleep', '9'],
      ['-d', '-p', '80'],
      ['sleep', '9'],
    ],
    [['-dp', '80', 'sleep'], ['-dp', '80'], ['sleep']],
    [['-dp80', 'sleep'], ['-dp80'], ['sleep']],
    [['--publish=80', '--', '--weird'], ['--publish=80'], ['--weird']],
    [['-d'], ['-d'], []],
  ])('%j', (args, own, command) => {
    expect(splitAtCommand(args, optionTable(run))).toEqual({ own, command });
  });
});

describe('network create -o', () => {
  it("types values and takes Docker's option names", () => {
    expect(parseDriverOption('mtu=1400')).toEqual(['mtu', 1400]);
    expect(parseDriverOption('icc=false')).toEqual(['icc', false]);
    expect(parseDriverOption('com.docker.network.bridge.name=br9')).toEqual(['bridgeName', 'br9']);
    expect(parseDriverOption('com.docker.network.driver.mtu=9000')).toEqual(['mtu', 9000]);
    expect(parseDriverOption('com.docker.network.bridge.enable_icc=true')).toEqual(['icc', true]);
    expect(parseDriverOption('com.docker.network.bridge.enable_ip_masquerade=false')).toEqual(['ipMasq', false]);
    expect(usageMessage(() => parseDriverOption('novalue'))).toContain('key=value');
    expect(usageMessage(() => parseDriverOption('=x'))).toContain('key=value');
  });
});
