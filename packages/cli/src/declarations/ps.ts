import { options } from '../inputs/ps.js';
import { defineCommand } from '../registry/command-spec.js';
import { NO_OPERANDS } from '../registry/operand-spec.js';

/** `netmode ps [--json]` */
export const ps = defineCommand({
  name: 'ps',
  daemonSettings: 'read',
  summary: 'list containers',
  description: `Lists the containers netmode run started, running or exited: name, status,
PID, every network and address (in the order they were connected),
published ports, command.`,
  options,
  operands: NO_OPERANDS,
  handler: async () => (await import('../commands/ps.js')).psCommand,
});
