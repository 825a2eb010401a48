// What `netmode run` takes, its options and operands, and the input its handler gets.
import { parseGwPriority } from '../args/gw-priority.js';
import { parsePortSpec } from '../args/port-spec.js';
import type { CommandInput } from '../registry/command-spec.js';
import type { OperandSpec } from '../registry/operand-spec.js';
import type { OptionSpecs } from '../registry/option-spec.js';

export const options = {
  name: { type: 'string', arg: 'NAME', help: "the container's name (default: c + 11 hex digits)" },
  net: {
    type: 'string',
    arg: 'NETWORK',
    aliases: ['network'],
    multiple: true,
    help: "a network: bridge (default), host, none, container:NAME or a network's name;\nthe container is on each one given, and the first is its mode",
  },
  publish: {
    type: 'string',
    short: 'p',
    arg: 'SPEC',
    multiple: true,
    parse: parsePortSpec,
    help: `publish a port: [hostIp:][hostPort[-end]:]containerPort[-end][/tcp|/udp]
(containerPort alone picks an ephemeral host port) on the container's
first network that is not internal`,
  },
  ip: { type: 'string', arg: 'ADDRESS', help: 'a static address on the first network' },
  'mac-address': { type: 'string', arg: 'MAC', help: 'a static MAC address on the first network' },
  'network-alias': {
    type: 'string',
    arg: 'NAME',
    aliases: ['alias'],
    multiple: true,
    help: 'another name of the container on the first network',
  },
  'gw-priority': {
    type: 'string',
    arg: 'N',
    parse: parseGwPriority,
    help: "the first network's gateway priority: the default route goes through\nthe network with the highest (default 0; ties: the first connected)",
  },
  detach: { type: 'boolean', short: 'd', help: 'run in the background and print the name' },
} as const satisfies OptionSpecs;

export const operands = { kind: 'command', example: 'netmode run --net none -- ip addr' } as const satisfies OperandSpec;

/** What `run`'s handler gets. */
export type RunInput = CommandInput<typeof options, typeof operands>;
