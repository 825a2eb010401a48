import { defineCommand, type CommandInput } from '../registry/command-spec.js';
import type { OperandSpec } from '../registry/operand-spec.js';

const options = {} as const;

const operands = { kind: 'command', target: { name: 'NAME', what: 'container name' } } as const satisfies OperandSpec;

/** What `exec`'s handler gets. */
export type ExecInput = CommandInput<typeof options, typeof operands>;

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
