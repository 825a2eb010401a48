import { options, operands } from '../inputs/stop.js';
import { defineCommand } from '../registry/command-spec.js';

/** `netmode stop [-t SECONDS] NAME...` */
export const stop = defineCommand({
  name: 'stop',
  summary: 'stop a container: end its process, release its addresses and ports',
  description: `Sends SIGTERM to the container's recorded process, then SIGKILL after
SECONDS (default 10). Only the process netmode recorded is signalled, and
only while its start time still matches (a recycled PID is never hit).
Then, as Docker, disconnects its endpoints: its addresses and published
ports are free for other containers. The container is kept, stopped
(exited in netmode ps), with what netmode start needs to connect it again;
a run --rm container is removed. A container others joined with
--net container:NAME keeps its sandbox and addresses for them, and start
takes them back.`,
  options,
  operands,
  handler: async () => (await import('../commands/stop.js')).stopCommand,
});
