import { options, operands } from '../inputs/inspect.js';
import { defineCommand } from '../registry/command-spec.js';

/** `netmode inspect [--json] NAME` */
export const inspect = defineCommand({
  name: 'inspect',
  daemonSettings: 'read',
  summary: 'show one container',
  description: `Shows a container: its process, mode, sandbox namespace and default route,
and for each network it is on, its interfaces, addresses, gateways,
published ports, aliases and gateway priority. --json keys the endpoints by
network name, as Docker's NetworkSettings.Networks.`,
  options,
  operands,
  handler: async () => (await import('../commands/inspect.js')).inspectCommand,
});
