import { describe, expect, it } from 'vitest';
import { ErrorCode, NetModeError, isNetModeError } from '../../src/errors.js';
import { ensureBridgeNetfilter } from '../../src/firewall/bridge-netfilter.js';
import { namedNetns } from '../../src/model/netns-ref.js';
import { RecordingRunner, commandMatches } from '../../src/testing/recording-runner.js';

const NETNS = namedNetns('nmhost');
const isShow = commandMatches('ip', '-json', '-details');
const isSysctl = commandMatches('sysctl');
// `ip -json -details link show dev nm-br1`, shortened to what is read.
const show = (value: number | undefined) =>
  JSON.stringify([
    { ifname: 'nm-br1', linkinfo: { info_kind: 'bridge', info_data: value === undefined ? {} : { nf_call_iptables: value } } },
  ]);

async function errorOf(promise: Promise<unknown>): Promise<NetModeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof NetModeError)) throw new Error(`expected a NetModeError, got ${String(error)}`);
  return error;
}

describe('ensureBridgeNetfilter', () => {
  it('only looks when the bridge already passes its IPv4 traffic to the ip hooks', async () => {
    const runner = new RecordingRunner().respond(isShow, { stdout: show(1) });
    await ensureBridgeNetfilter({ runner, netns: NETNS }, 'nm-br1');
    expect(runner.commands.map((c) => [c.command, ...c.args].join(' '))).toEqual([
      'sysctl -n net.bridge.bridge-nf-call-iptables',
      'ip -json -details link show dev nm-br1',
    ]);
    expect(runner.commands.every((c) => c.netns === NETNS)).toBe(true);
  });

  it('turns the option on when it is off, and looks again', async () => {
    let looks = 0;
    const runner = new RecordingRunner().respond(isShow, () => ({ stdout: show(looks++ === 0 ? 0 : 1) }));
    await ensureBridgeNetfilter({ runner, netns: NETNS }, 'nm-br1');
    expect(runner.commands.map((c) => [c.command, ...c.args].join(' '))).toEqual([
      'sysctl -n net.bridge.bridge-nf-call-iptables',
      'ip -json -details link show dev nm-br1',
      'ip link set dev nm-br1 type bridge nf_call_iptables 1',
      'ip -json -details link show dev nm-br1',
    ]);
  });

  it('says so when br_netfilter is not active: the sysctl does not exist', async () => {
    const runner = new RecordingRunner().failOn(
      isSysctl,
      'sysctl: cannot stat /proc/sys/net/bridge/bridge-nf-call-iptables: No such file or directory',
    );
    const error = await errorOf(ensureBridgeNetfilter({ runner, netns: NETNS }, 'nm-br1'));
    expect(error.code).toBe(ErrorCode.UNSUPPORTED);
    expect(error.message).toMatch(/modprobe br_netfilter/);
    expect(runner.commands).toHaveLength(1);
  });

  it('fails when the option does not stay on', async () => {
    const runner = new RecordingRunner().respond(isShow, { stdout: show(undefined) });
    const error = await errorOf(ensureBridgeNetfilter({ runner, netns: NETNS }, 'nm-br1'));
    expect(error.code).toBe(ErrorCode.COMMAND_FAILED);
    expect(error.context).toMatchObject({ bridge: 'nm-br1' });
  });

  it('refuses a bad bridge name before any process starts', async () => {
    const runner = new RecordingRunner();
    const error = await ensureBridgeNetfilter({ runner, netns: NETNS }, 'nm br1').catch((e: unknown) => e);
    expect(isNetModeError(error, ErrorCode.INVALID_CONFIG)).toBe(true);
    expect(runner.commands).toHaveLength(0);
  });
});
