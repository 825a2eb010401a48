import { defineCommand, type CommandInput } from '../registry/command-spec.js';
import { NO_OPERANDS } from '../registry/operand-spec.js';
import { JSON_OPTION } from '../registry/option-spec.js';

const options = { json: JSON_OPTION } as const;

/** What `ps`'s handler gets. */
export type PsInput = CommandInput<typeof options, typeof NO_OPERANDS>;

/** `netmode ps [--json]` */
export const ps = defineCommand({
  name: 'ps',
  summary: 'list containers',
  description: `Lists the containers netmode run started, running or exited: name, status,
PID, mode, address, published ports, command.`,
  options,
  operands: NO_OPERANDS,
  handler: async () => (await import('../commands/ps.js')).psCommand,
});
