// What `netmode stop` takes, its options and operands, and the input its handler gets.
import { usage } from '../cli-error.js';
import type { CommandInput } from '../registry/command-spec.js';
import type { OperandSpec } from '../registry/operand-spec.js';
import type { OptionSpecs } from '../registry/option-spec.js';

/** `-t SECONDS` of `command` (`stop`, `restart`), parsed to milliseconds. */
export function timeOption(command: string) {
  const seconds = (raw: string): number => {
    if (!/^[0-9]+$/.test(raw)) throw usage(`netmode ${command}: -t ${JSON.stringify(raw)} must be a whole number of seconds`);
    return Number(raw) * 1000;
  };
  return {
    type: 'string',
    short: 't',
    arg: 'SECONDS',
    parse: seconds,
    help: 'seconds to wait after SIGTERM before SIGKILL (default 10)',
  } as const;
}

export const options = { time: timeOption('stop') } as const satisfies OptionSpecs;

export const operands = { kind: 'some', name: 'NAME', what: 'container name' } as const satisfies OperandSpec;

/** What `stop`'s handler gets; `time` in milliseconds. */
export type StopInput = CommandInput<typeof options, typeof operands>;
