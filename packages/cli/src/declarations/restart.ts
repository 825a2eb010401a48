import { options, operands } from '../inputs/restart.js';
import { defineCommand } from '../registry/command-spec.js';

/** `netmode restart [-t SECONDS] NAME...` */
export const restart = defineCommand({
  name: 'restart',
  summary: 'stop a container, then start it again',
  description: `netmode stop, then netmode start: the process gets SIGTERM (SIGKILL after
SECONDS, default 10), the endpoints are released and connected again, and
the command starts again, detached. A run --rm container is not removed
by its restart.`,
  options,
  operands,
  handler: async () => (await import('../commands/restart.js')).restartCommand,
});
