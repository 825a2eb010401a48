// What `netmode exec` takes, its options and operands, and the input its handler gets.
import type { CommandInput } from '../registry/command-spec.js';
import type { OperandSpec } from '../registry/operand-spec.js';

export const options = {} as const;

export const operands = { kind: 'command', target: { name: 'NAME', what: 'container name' } } as const satisfies OperandSpec;

/** What `exec`'s handler gets. */
export type ExecInput = CommandInput<typeof options, typeof operands>;
