import { options } from '../inputs/gc.js';
import { defineCommand } from '../registry/command-spec.js';
import { NO_OPERANDS } from '../registry/operand-spec.js';

/** `netmode gc [--json]` */
export const gc = defineCommand({
  name: 'gc',
  summary: 'remove exited containers, endpoints no container owns, and stray objects',
  description: `Removes every container whose process has exited (disconnects it and forgets
it), then runs the SDK's garbage collection: disconnects every endpoint of the
state directory that no remaining container owns, and removes namespaces and
links carrying the name prefix that no record owns.`,
  options,
  operands: NO_OPERANDS,
  handler: async () => (await import('../commands/gc.js')).gcCommand,
});
