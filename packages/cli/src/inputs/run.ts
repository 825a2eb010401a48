// What `netmode run` takes, its options and operands, and the input its handler gets.
import { parsePortSpec } from '../args/port-spec.js';
import type { CommandInput } from '../registry/command-spec.js';
import type { OperandSpec } from '../registry/operand-spec.js';
import type { OptionSpecs } from '../registry/option-spec.js';

export const options = {
  name: { type: 'string', arg: 'NAME', help: "the container's name (default: c + 11 hex digits)" },
  net: { type: 'string', arg: 'MODE', aliases: ['network'], help: "bridge (default), host, none, container:NAME or a network's name" },
  publish: {
    type: 'string',
    short: 'p',
    arg: 'SPEC',
    multiple: true,
    parse: parsePortSpec,
    help: 'publish a port: [hostIp:][hostPort[-end]:]containerPort[-end][/tcp|/udp]\n(containerPort alone picks an ephemeral host port)',
  },
  ip: { type: 'string', arg: 'ADDRESS', help: 'a static address on the network' },
  'mac-address': { type: 'string', arg: 'MAC', help: 'a static MAC address' },
  detach: { type: 'boolean', short: 'd', help: 'run in the background and print the name' },
} as const satisfies OptionSpecs;

export const operands = { kind: 'command', example: 'netmode run --net none -- ip addr' } as const satisfies OperandSpec;

/** What `run`'s handler gets. */
export type RunInput = CommandInput<typeof options, typeof operands>;
