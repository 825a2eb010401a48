import { options, operands } from '../inputs/rm.js';
import { defineCommand } from '../registry/command-spec.js';

/** `netmode rm [-f] NAME...` */
export const rm = defineCommand({
  name: 'rm',
  summary: 'disconnect a container and forget it',
  description: `Disconnects the container and forgets it. A running container is refused
unless -f, which kills its process first (SIGKILL).`,
  options,
  operands,
  handler: async () => (await import('../commands/rm.js')).rmCommand,
});
