// What `netmode rm` takes, its options and operands, and the input its handler gets.
import type { CommandInput } from '../registry/command-spec.js';
import type { OperandSpec } from '../registry/operand-spec.js';
import type { OptionSpecs } from '../registry/option-spec.js';

export const options = {
  force: { type: 'boolean', short: 'f', help: 'remove a running container too, killing its process first (SIGKILL)' },
} as const satisfies OptionSpecs;

export const operands = { kind: 'some', name: 'NAME', what: 'container name' } as const satisfies OperandSpec;

/** What `rm`'s handler gets. */
export type RmInput = CommandInput<typeof options, typeof operands>;
