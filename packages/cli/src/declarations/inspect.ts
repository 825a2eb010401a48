import { options, operands } from '../inputs/inspect.js';
import { defineCommand } from '../registry/command-spec.js';

/** `netmode inspect [--json] NAME` */
export const inspect = defineCommand({
  name: 'inspect',
  summary: 'show one container',
  description: `Shows a container: its process, mode, sandbox namespace, addresses, routes'
gateways, interfaces and published ports.`,
  options,
  operands,
  handler: async () => (await import('../commands/inspect.js')).inspectCommand,
});
