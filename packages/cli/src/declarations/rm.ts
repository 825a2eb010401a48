import { defineCommand, type CommandInput } from '../registry/command-spec.js';
import type { OperandSpec } from '../registry/operand-spec.js';
import type { OptionSpecs } from '../registry/option-spec.js';

const options = {
  force: { type: 'boolean', short: 'f', help: 'remove a running container too, killing its process first (SIGKILL)' },
} as const satisfies OptionSpecs;

const operands = { kind: 'some', name: 'NAME', what: 'container name' } as const satisfies OperandSpec;

/** What `rm`'s handler gets. */
export type RmInput = CommandInput<typeof options, typeof operands>;

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
