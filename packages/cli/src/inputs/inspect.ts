// What `netmode inspect` takes, its options and operands, and the input its handler gets.
import type { CommandInput } from '../registry/command-spec.js';
import type { OperandSpec } from '../registry/operand-spec.js';
import { JSON_OPTION } from '../registry/option-spec.js';

export const options = { json: JSON_OPTION } as const;

export const operands = { kind: 'one', name: 'NAME', what: 'container name' } as const satisfies OperandSpec;

/** What `inspect`'s handler gets. */
export type InspectInput = CommandInput<typeof options, typeof operands>;
