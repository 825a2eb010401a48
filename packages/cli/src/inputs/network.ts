// What `netmode network create|ls|inspect|rm|connect|disconnect` takes, its options and operands, and the input its handler gets.
import { parseDriverOption } from '../args/driver-option.js';
import { parseGwPriority } from '../args/gw-priority.js';
import type { CommandInput } from '../registry/command-spec.js';
import { NO_OPERANDS, type OperandSpec } from '../registry/operand-spec.js';
import { JSON_OPTION, type OptionSpecs } from '../registry/option-spec.js';

export const createOptions = {
  driver: { type: 'string', short: 'd', arg: 'DRIVER', help: 'the driver (default bridge)' },
  subnet: { type: 'string', arg: 'CIDR', help: 'the subnet (default: the next free one from the pools)' },
  gateway: { type: 'string', arg: 'ADDRESS', help: "the bridge's address in the subnet (default: the first)" },
  'ip-range': { type: 'string', arg: 'CIDR', help: 'hand out container addresses from this part of the subnet' },
  internal: { type: 'boolean', help: 'no route in or out of the host' },
  opt: {
    type: 'string',
    short: 'o',
    arg: 'KEY=VALUE',
    multiple: true,
    parse: parseDriverOption,
    help: `a driver option; bridge: bridge, bridgeName, mtu, icc, ipMasq
(Docker's com.docker.network.bridge.name, ….driver.mtu,
….bridge.enable_icc, ….bridge.enable_ip_masquerade work too)`,
  },
} as const satisfies OptionSpecs;

export const oneNetwork = { kind: 'one', name: 'NAME', what: 'network name' } as const satisfies OperandSpec;
export const someNetworks = { kind: 'some', name: 'NAME', what: 'network name' } as const satisfies OperandSpec;
export const readOptions = { json: JSON_OPTION } as const;

export const connectOptions = {
  ip: { type: 'string', arg: 'ADDRESS', help: 'a static address on the network' },
  alias: { type: 'string', arg: 'NAME', multiple: true, help: 'another name of the container on the network' },
  'gw-priority': {
    type: 'string',
    arg: 'N',
    parse: parseGwPriority,
    help: 'the gateway priority: the default route goes through the network\nwith the highest (default 0; ties: the first connected)',
  },
} as const satisfies OptionSpecs;

/** `NETWORK CONTAINER`, in Docker's order. */
export const networkAndContainer = {
  kind: 'fixed',
  names: [
    { key: 'network', name: 'NETWORK', what: 'network name' },
    { key: 'container', name: 'CONTAINER', what: 'container name' },
  ],
} as const satisfies OperandSpec;

/** What `network create`'s handler gets. */
export type NetworkCreateInput = CommandInput<typeof createOptions, typeof oneNetwork>;
/** What `network ls`'s handler gets. */
export type NetworkLsInput = CommandInput<typeof readOptions, typeof NO_OPERANDS>;
/** What `network inspect`'s handler gets. */
export type NetworkInspectInput = CommandInput<typeof readOptions, typeof oneNetwork>;
/** What `network rm`'s handler gets. */
export type NetworkRmInput = CommandInput<Record<never, never>, typeof someNetworks>;
/** What `network connect`'s handler gets. */
export type NetworkConnectInput = CommandInput<typeof connectOptions, typeof networkAndContainer>;
/** What `network disconnect`'s handler gets. */
export type NetworkDisconnectInput = CommandInput<Record<never, never>, typeof networkAndContainer>;
