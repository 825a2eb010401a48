// What `netmode start` takes, its options and operands, and the input its handler gets.
import type { CommandInput } from '../registry/command-spec.js';
import type { OperandSpec } from '../registry/operand-spec.js';

export const options = {} as const;

export const operands = { kind: 'some', name: 'NAME', what: 'container name' } as const satisfies OperandSpec;

/** What `start`'s handler gets. */
export type StartInput = CommandInput<typeof options, typeof operands>;
