import { describe, expect, it } from 'vitest';
import { ErrorCode, NetModeError, isNetModeError } from '../../src/errors.js';
import { IpBatch, runIpBatch } from '../../src/exec/ip-batch.js';
import { RecordingRunner } from '../../src/testing/recording-runner.js';

describe('IpBatch', () => {
  it('builds one line per command', () => {
    const batch = new IpBatch()
      .netnsAdd('nm-1a2b')
      .linkUp('lo')
      .addressAdd('172.17.0.2/16', 'eth0')
      .defaultRouteAdd('172.17.0.1', 'eth0')
      .linkDelete('veth1');
    expect(batch.toString()).toBe(
      [
        'netns add nm-1a2b',
        'link set dev lo up',
        'address add 172.17.0.2/16 dev eth0',
        'route add default via 172.17.0.1 dev eth0',
        'link delete dev veth1',
        '',
      ].join('\n'),
    );
  });

  it('makes the pair with its peer MAC at birth', () => {
    const batch = new IpBatch().vethAdd('nmv1', 'nmbr0', 1500, 'eth0', '/run/netns/nm-1', '02:42:0a:58:00:02');
    expect(batch.lines).toEqual([
      'link add nmv1 mtu 1500 master nmbr0 up type veth peer name eth0 address 02:42:0a:58:00:02 mtu 1500 netns /run/netns/nm-1',
    ]);
    expect(() => new IpBatch().vethAdd('nmv1', 'nmbr0', 1500, 'eth0', '/run/netns/nm-1', '02:42')).toThrow(NetModeError);
  });

  it.each(['eth 0', 'eth0\nlink delete dev eth1', 'a#b', '', 'x'.repeat(16), '../x', '"eth0"', 'eth0;'])(
    'refuses the interface name %j before any line is written',
    (name) => {
      const batch = new IpBatch();
      expect(() => batch.linkUp(name)).toThrow(NetModeError);
      expect(batch.empty).toBe(true);
    },
  );

  it('refuses an unsafe token even where no name rule applies', () => {
    let caught: unknown;
    try {
      new IpBatch().addressAdd('10.0.0.1/24 dev eth1\naddress flush', 'eth0');
    } catch (error) {
      caught = error;
    }
    expect(isNetModeError(caught, ErrorCode.INVALID_CONFIG)).toBe(true);
  });
});

describe('runIpBatch', () => {
  it('runs the script as one ip -batch - process in the given namespace', async () => {
    const runner = new RecordingRunner();
    await runIpBatch(runner, { kind: 'named', name: 'nm-x' }, new IpBatch().linkUp('lo').linkUp('eth0'));
    expect(runner.transcript()).toBe('[named:nm-x] ip -batch -\n  link set dev lo up\n  link set dev eth0 up');
  });

  it('starts nothing for an empty batch', async () => {
    const runner = new RecordingRunner();
    expect(await runIpBatch(runner, { kind: 'host' }, new IpBatch())).toBeUndefined();
    expect(runner.commands).toEqual([]);
  });

  it('names the failing line', async () => {
    const runner = new RecordingRunner().failOn(() => true, 'RTNETLINK answers: File exists\nCommand failed -:2');
    const error = await runIpBatch(runner, { kind: 'host' }, new IpBatch().linkUp('lo').linkUp('eth0')).catch((e: unknown) => e);
    expect(isNetModeError(error, ErrorCode.COMMAND_FAILED)).toBe(true);
    expect((error as NetModeError).context).toMatchObject({ failedLine: 2, failedCommand: 'link set dev eth0 up' });
  });
});
