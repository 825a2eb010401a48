// What `netmode restart` takes, its options and operands, and the input its handler gets.
import type { CommandInput } from '../registry/command-spec.js';
import type { OptionSpecs } from '../registry/option-spec.js';
import { operands, timeOption } from './stop.js';

export const options = { time: timeOption('restart') } as const satisfies OptionSpecs;

export { operands };

/** What `restart`'s handler gets; `time` in milliseconds. */
export type RestartInput = CommandInput<typeof options, typeof operands>;
