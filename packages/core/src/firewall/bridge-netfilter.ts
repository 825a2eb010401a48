import { ErrorCode, NetModeError, isNetModeError } from '../errors.js';
import { assertInterfaceName } from '../net/names.js';
import type { FirewallScope } from './firewall.js';

/**
 * Making one bridge's IPv4 traffic pass the ip family's hooks.
 *
 * Both backends keep the containers of an `icc: false` network apart at
 * layer 3, in their forward rules. Traffic between two ports of one bridge
 * reaches those rules only through br_netfilter, and only while it is on for
 * that bridge: `net.bridge.bridge-nf-call-iptables` turns it on for every
 * bridge of a namespace (a container that knows its neighbour's MAC then
 * talks to it freely when that sysctl is 0), the bridge option
 * `nf_call_iptables` for one bridge whatever the sysctl says. netmode sets
 * the option on the bridges of its `icc: false` networks and never writes the
 * sysctl, which belongs to every bridge of the namespace.
 *
 * Why not the bridge family alone: a DNAT to a container on the same bridge
 * (one container reaching a port another publishes) is forwarded at layer 2
 * between the two ports once br_netfilter is on, and the bridge family
 * cannot tell it from direct traffic: its `ct` expression needs
 * nf_conntrack_bridge, which kernels without `CONFIG_NF_CONNTRACK_BRIDGE`
 * refuse ("Protocol error", measured on this project's 6.18 kernel with the
 * sysctl at 0 and at 1).
 *
 * @module
 */

/**
 * Turns `nf_call_iptables` on for `bridge` in the scope's namespace when it
 * is off, and checks that it is on and that br_netfilter is active there.
 * Looks first, so a bridge that has it costs two processes and changes
 * nothing.
 *
 * @throws NetModeError ERR_UNSUPPORTED when the kernel has no br_netfilter
 * (or the module is not loaded), ERR_COMMAND_FAILED when the option does not
 * stay on.
 */
export async function ensureBridgeNetfilter(scope: FirewallScope, bridge: string): Promise<void> {
  assertInterfaceName(bridge, 'bridge');
  // br_netfilter registers net.bridge.* in every namespace once it is active;
  // without it the bridge option is accepted and does nothing.
  try {
    await scope.runner.run({
      command: 'sysctl',
      args: ['-n', 'net.bridge.bridge-nf-call-iptables'],
      netns: scope.netns,
      signal: scope.signal,
    });
  } catch (error) {
    if (!isNetModeError(error, ErrorCode.COMMAND_FAILED)) throw error;
    throw new NetModeError(
      ErrorCode.UNSUPPORTED,
      "icc: false needs br_netfilter, which is not active in this kernel: load it with 'modprobe br_netfilter'",
      { cause: error, context: { bridge } },
    );
  }
  if ((await readOption(scope, bridge)) === 1) return;
  await scope.runner.run({
    command: 'ip',
    args: ['link', 'set', 'dev', bridge, 'type', 'bridge', 'nf_call_iptables', '1'],
    netns: scope.netns,
    signal: scope.signal,
  });
  const after = await readOption(scope, bridge);
  if (after !== 1) {
    throw new NetModeError(ErrorCode.COMMAND_FAILED, `bridge ${bridge} did not keep nf_call_iptables on (it reads ${String(after)})`, {
      context: { bridge },
    });
  }
}

/** The bridge's `nf_call_iptables` as `ip -details` shows it; `undefined` when it shows none. */
async function readOption(scope: FirewallScope, bridge: string): Promise<number | undefined> {
  const { stdout } = await scope.runner.run({
    command: 'ip',
    args: ['-json', '-details', 'link', 'show', 'dev', bridge],
    netns: scope.netns,
    signal: scope.signal,
  });
  const links = JSON.parse(stdout || '[]') as { linkinfo?: { info_data?: { nf_call_iptables?: unknown } } }[];
  const value = links[0]?.linkinfo?.info_data?.nf_call_iptables;
  return typeof value === 'number' ? value : undefined;
}
