import { usage } from '../cli-error.js';
import { connectOptions, createOptions, networkAndContainer, oneNetwork, someNetworks, readOptions } from '../inputs/network.js';
import { defineCommand, defineGroup } from '../registry/command-spec.js';
import { NO_OPERANDS } from '../registry/operand-spec.js';

/** `netmode network create|ls|inspect|rm|connect|disconnect …` */
export const network = defineGroup({
  name: 'network',
  summary: 'create, ls, inspect, rm networks; connect and disconnect containers',
  commands: [
    defineCommand({
      name: 'create',
      summary: 'create a network',
      options: createOptions,
      operands: oneNetwork,
      check({ options }) {
        if (options.subnet === undefined && (options.gateway !== undefined || options['ip-range'] !== undefined)) {
          throw usage('netmode network create: --gateway and --ip-range need --subnet');
        }
      },
      handler: async () => (await import('../commands/network/create.js')).networkCreateCommand,
    }),
    defineCommand({
      name: 'ls',
      daemonSettings: 'read',
      aliases: ['list'],
      summary: 'list networks',
      options: readOptions,
      operands: NO_OPERANDS,
      handler: async () => (await import('../commands/network/ls.js')).networkLsCommand,
    }),
    defineCommand({
      name: 'inspect',
      daemonSettings: 'read',
      summary: 'show a network and its containers',
      options: readOptions,
      operands: oneNetwork,
      handler: async () => (await import('../commands/network/inspect.js')).networkInspectCommand,
    }),
    defineCommand({
      name: 'rm',
      aliases: ['remove'],
      summary: 'remove networks',
      options: {},
      operands: someNetworks,
      handler: async () => (await import('../commands/network/rm.js')).networkRmCommand,
    }),
    defineCommand({
      name: 'connect',
      summary: 'connect a running container to one more network',
      description: `Connects the running container CONTAINER to NETWORK: a new interface (the
next free ethN) with its address appears in the container's namespace, and
its process keeps running. The default route goes through the network with
the highest --gw-priority (a tie goes to the network connected first).
host, none and container:NAME are a whole sandbox: a container in one of
them cannot be on another network, nor join one of them later.`,
      options: connectOptions,
      operands: networkAndContainer,
      handler: async () => (await import('../commands/network/connect.js')).networkConnectCommand,
    }),
    defineCommand({
      name: 'disconnect',
      summary: 'disconnect a container from one of its networks',
      description: `Disconnects CONTAINER from NETWORK: that interface, its address and the
ports published on it go; the container's other networks and its process
stay. A container's last network is removed by netmode rm, not here.`,
      options: {},
      operands: networkAndContainer,
      handler: async () => (await import('../commands/network/disconnect.js')).networkDisconnectCommand,
    }),
  ],
});
