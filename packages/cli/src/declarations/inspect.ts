import { defineCommand, type CommandInput } from '../registry/command-spec.js';
import type { OperandSpec } from '../registry/operand-spec.js';
import { JSON_OPTION } from '../registry/option-spec.js';

const options = { json: JSON_OPTION } as const;

const operands = { kind: 'one', name: 'NAME', what: 'container name' } as const satisfies OperandSpec;

/** What `inspect`'s handler gets. */
export type InspectInput = CommandInput<typeof options, typeof operands>;

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
