import { options, operands } from '../inputs/exec.js';
import { defineCommand } from '../registry/command-spec.js';

/** `netmode exec NAME [--] CMD [ARGS...]` */
export const exec = defineCommand({
  name: 'exec',
  summary: "run a command in a running container's network namespace",
  description: `Runs CMD in the network namespace of the running container NAME, in the
foreground, and exits with its exit status.`,
  options,
  operands,
  handler: async () => (await import('../commands/exec.js')).execCommand,
});
