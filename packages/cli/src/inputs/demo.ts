// What `netmode demo` takes, its options and operands, and the input its handler gets.
import type { CommandInput } from '../registry/command-spec.js';
import { NO_OPERANDS } from '../registry/operand-spec.js';
import { JSON_OPTION } from '../registry/option-spec.js';

export const options = { json: JSON_OPTION } as const;

/** What `demo`'s handler gets. */
export type DemoInput = CommandInput<typeof options, typeof NO_OPERANDS>;
