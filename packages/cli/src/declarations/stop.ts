import { options, operands } from '../inputs/stop.js';
import { defineCommand } from '../registry/command-spec.js';

/** `netmode stop [-t SECONDS] NAME...` */
export const stop = defineCommand({
  name: 'stop',
  summary: "stop a container's process (SIGTERM, then SIGKILL)",
  description: `Sends SIGTERM to the container's recorded process, then SIGKILL after
SECONDS (default 10). Only the process netmode recorded is signalled, and
only while its start time still matches (a recycled PID is never hit). The
container stays connected until netmode rm.`,
  options,
  operands,
  handler: async () => (await import('../commands/stop.js')).stopCommand,
});
