import { defineCommand, type CommandInput } from '../registry/command-spec.js';
import { NO_OPERANDS } from '../registry/operand-spec.js';
import { JSON_OPTION } from '../registry/option-spec.js';

const options = { json: JSON_OPTION } as const;

/** What `gc`'s handler gets. */
export type GcInput = CommandInput<typeof options, typeof NO_OPERANDS>;

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
