import { CliError, CliErrorCode, usage } from '../cli-error.js';
import { options } from '../inputs/demo.js';
import { defineCommand } from '../registry/command-spec.js';
import { NO_OPERANDS } from '../registry/operand-spec.js';

/** `netmode demo [--json]` */
export const demo = defineCommand({
  name: 'demo',
  // The demo works in a throwaway state directory of its own, whose settings its own session keeps.
  daemonSettings: 'none',
  summary: 'show every mode at work in throwaway namespaces, then remove everything',
  description: `In a throwaway host namespace and an outside-world namespace, with a
temporary state directory, starts real processes in every mode (bridge,
a user-defined bridge network with a published port, host, none,
container:NAME), probes every path, prints what it observed against what
Docker's semantics predict, and removes everything (also on Ctrl-C). Exits 3
if any path differs. Honours --firewall (nftables or iptables); the other
global options do not apply.`,
  options,
  operands: NO_OPERANDS,
  embedsSdk: true,
  check(_input, globals) {
    if (process.getuid?.() !== 0) throw new CliError(CliErrorCode.NOT_ROOT, 'the demo creates network namespaces and must run as root');
    if (globals.firewall === 'none')
      throw usage('netmode demo: needs a firewall to masquerade and publish ports; use --firewall nftables or iptables');
  },
  handler: async () => (await import('../commands/demo.js')).demoCommand,
});
