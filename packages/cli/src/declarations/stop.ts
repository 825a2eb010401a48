import { usage } from '../cli-error.js';
import { defineCommand, type CommandInput } from '../registry/command-spec.js';
import type { OperandSpec } from '../registry/operand-spec.js';
import type { OptionSpecs } from '../registry/option-spec.js';

/** `-t SECONDS` as milliseconds. */
function seconds(raw: string): number {
  if (!/^[0-9]+$/.test(raw)) throw usage(`netmode stop: -t ${JSON.stringify(raw)} must be a whole number of seconds`);
  return Number(raw) * 1000;
}

const options = {
  time: { type: 'string', short: 't', arg: 'SECONDS', parse: seconds, help: 'seconds to wait after SIGTERM before SIGKILL (default 10)' },
} as const satisfies OptionSpecs;

const operands = { kind: 'some', name: 'NAME', what: 'container name' } as const satisfies OperandSpec;

/** What `stop`'s handler gets; `time` in milliseconds. */
export type StopInput = CommandInput<typeof options, typeof operands>;

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
