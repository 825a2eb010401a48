import { options, operands } from '../inputs/start.js';
import { defineCommand } from '../registry/command-spec.js';

/** `netmode start NAME...` */
export const start = defineCommand({
  name: 'start',
  summary: 'start a stopped container again',
  description: `Connects a stopped container to its networks again, with the settings
netmode run (and network connect) recorded: its aliases, its --ip if one
was given (a new address otherwise), its name settings, and the same
published ports (-p 80 gets a new ephemeral host port). Then starts its
command again, detached, as run -d; its output goes on in
STATE_DIR/cli/logs/NAME.log. A published port another container took
meanwhile fails with ERR_PORT_ALLOCATED and leaves the container stopped.
A container that runs already is left as it is.`,
  options,
  operands,
  handler: async () => (await import('../commands/start.js')).startCommand,
});
