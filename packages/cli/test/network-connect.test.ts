import { ErrorCode, NetModeError, processStartTime } from '@netmode/core';
import { describe, expect, it } from 'vitest';
import { describeFailure } from '../src/cli-error.js';
import { networkConnectCommand } from '../src/commands/network/connect.js';
import { networkDisconnectCommand } from '../src/commands/network/disconnect.js';
import type { ContainerRecord } from '../src/containers/container-store.js';
import { COMMANDS } from '../src/declarations/index.js';
import { eachCommand, type CommandSpec } from '../src/registry/command-spec.js';
import { parseCommand } from '../src/registry/parse-command.js';
import { FakeNetMode, fakeSession } from './support/fake-netmode.js';

const NETWORKS = { front: { prefix: '10.1.0' }, back: { prefix: '10.2.0' } };
const STATE = '/nonexistent/netmode-connect-test';
const globals = { stateDir: STATE, debug: false };

function commandAt(path: string): CommandSpec {
  const found = eachCommand(COMMANDS).find(([p]) => p === path);
  if (!found) throw new Error(`no command ${path}`);
  return found[1];
}

function record(name: string, alive: boolean): ContainerRecord {
  return {
    name,
    networks: ['front'],
    command: ['sleep', '100'],
    detached: true,
    createdAt: '2026-01-01T00:00:00.000Z',
    // This test's own process runs; a start time that never was is a process gone.
    process: { pid: process.pid, start: alive ? (processStartTime(process.pid) as string) : '1' },
  };
}

/** `web`, running, on front. */
async function webOnFront(netns?: string) {
  const netmode = new FakeNetMode(NETWORKS, netns);
  const fake = fakeSession(netmode, STATE);
  await fake.session.containers.reserve(record('web', true));
  await netmode.connect('web', 'front');
  netmode.calls.length = 0;
  return { netmode, ...fake };
}

const connect = (session: Parameters<typeof networkConnectCommand>[0], network: string, container: string, options = {}) =>
  networkConnectCommand(session, { options: { ip: undefined, alias: [], 'gw-priority': undefined, ...options }, network, container });
const disconnect = (session: Parameters<typeof networkDisconnectCommand>[0], network: string, container: string) =>
  networkDisconnectCommand(session, { options: {}, network, container });

describe('netmode network connect and disconnect: parsing', () => {
  it('takes NETWORK CONTAINER, in that order, with --ip, --alias and --gw-priority', () => {
    const spec = commandAt('network connect');
    expect(
      parseCommand(
        spec,
        'network connect',
        ['--ip', '10.2.0.9', '--alias', 'db', '--alias=sql', '--gw-priority=-2', 'back', 'web'],
        globals,
      ),
    ).toEqual({
      help: false,
      input: { options: { ip: '10.2.0.9', alias: ['db', 'sql'], 'gw-priority': -2 }, network: 'back', container: 'web' },
    });
    expect(parseCommand(commandAt('network disconnect'), 'network disconnect', ['back', 'web'], globals)).toEqual({
      help: false,
      input: { options: {}, network: 'back', container: 'web' },
    });
  });

  it('takes --gw-priority as a whole number, negative too', () => {
    const spec = commandAt('network connect');
    const priority = (value: string) => {
      const parsed = parseCommand(spec, 'network connect', [`--gw-priority=${value}`, 'n', 'c'], globals);
      return parsed.help ? undefined : parsed.input.options['gw-priority'];
    };
    expect([priority('0'), priority('10'), priority('-1')]).toEqual([0, 10, -1]);
    for (const bad of ['', '1.5', 'high', '99999999999999999999']) {
      expect(() => priority(bad), bad).toThrow(`--gw-priority ${JSON.stringify(bad)}: must be a whole number`);
    }
  });
});

describe('netmode network connect and disconnect (a fake SDK)', () => {
  it('connects a running container to one more network with its options, and prints nothing', async () => {
    const { netmode, session, stdout } = await webOnFront();
    expect(await connect(session, 'back', 'web', { ip: '10.2.0.9', alias: ['db'], 'gw-priority': 3 })).toBe(0);
    // The sandbox's namespace is named: a connect after the sandbox went fails rather than make another.
    expect(netmode.calls).toEqual([
      'connect web back {"netns":{"kind":"path","path":"/proc/self/ns/net"},"ip":"10.2.0.9","aliases":["db"],"gwPriority":3}',
    ]);
    expect((await netmode.inspect('web')).endpoints.map((e) => [e.network, e.interfaces[0]?.name, e.addresses[0]])).toEqual([
      ['front', 'eth0', '10.1.0.2/24'],
      ['back', 'eth1', '10.2.0.9/24'],
    ]);
    expect(stdout()).toBe('');
  });

  it("lets the SDK's refusals through: a network it is on already, a whole-sandbox mode, an unknown network", async () => {
    const { session } = await webOnFront();
    await expect(connect(session, 'front', 'web')).rejects.toMatchObject({ code: 'ERR_ENDPOINT_EXISTS' });
    await expect(connect(session, 'host', 'web')).rejects.toMatchObject({ code: 'ERR_INVALID_CONFIG' });
    await expect(connect(session, 'nosuch', 'web')).rejects.toMatchObject({ code: 'ERR_NETWORK_NOT_FOUND' });
  });

  it('refuses, before asking the SDK, a container that does not exist, has exited, or has no sandbox any more', async () => {
    const { netmode, session } = await webOnFront();
    await expect(connect(session, 'back', 'ghost')).rejects.toMatchObject({ code: 'ERR_CONTAINER_NOT_FOUND' });
    await session.containers.reserve(record('done', false));
    await expect(connect(session, 'back', 'done')).rejects.toMatchObject({ code: 'ERR_CONTAINER_NOT_RUNNING' });
    // connect() would make a new sandbox, one the process is not in.
    await session.containers.reserve(record('lost', true));
    await expect(connect(session, 'back', 'lost')).rejects.toMatchObject({ code: 'ERR_CONTAINER_BROKEN' });
    expect(netmode.calls).toEqual([]);
    const vanished = await webOnFront('/nonexistent/netns');
    await expect(connect(vanished.session, 'back', 'web')).rejects.toMatchObject({ code: 'ERR_CONTAINER_BROKEN' });
    expect(vanished.netmode.calls).toEqual([]);
  });

  it('disconnects one network and keeps the others', async () => {
    const { netmode, session, stdout } = await webOnFront();
    await connect(session, 'back', 'web');
    expect(await disconnect(session, 'front', 'web')).toBe(0);
    expect(netmode.calls.at(-1)).toBe('disconnect web front');
    expect((await netmode.inspect('web')).endpoints.map((e) => e.network)).toEqual(['back']);
    expect(stdout()).toBe('');
  });

  it('refuses the last network, a network it is not on, and a container that does not exist; changes nothing', async () => {
    const { netmode, session } = await webOnFront();
    const last = await disconnect(session, 'front', 'web').catch((error: unknown) => error);
    expect(last).toMatchObject({ code: 'ERR_LAST_NETWORK', message: 'front is the only network of container web' });
    expect(describeFailure(last)).toMatchObject({ exitCode: 2, hint: expect.stringContaining('netmode network connect') });
    await expect(disconnect(session, 'back', 'web')).rejects.toMatchObject({ code: 'ERR_ENDPOINT_NOT_FOUND' });
    await expect(disconnect(session, 'back', 'ghost')).rejects.toMatchObject({ code: 'ERR_CONTAINER_NOT_FOUND' });
    expect(netmode.calls).toEqual(['disconnect web back']);
    expect((await netmode.inspect('web')).endpoints.map((e) => e.network)).toEqual(['front']);
  });

  it('gives the shell a hint for connecting twice that names the commands', () => {
    const failure = describeFailure(new NetModeError(ErrorCode.ENDPOINT_EXISTS, 'container web is already on network front'));
    expect(failure).toMatchObject({ code: 'ERR_ENDPOINT_EXISTS', exitCode: 2, hint: expect.stringContaining('netmode inspect NAME') });
  });
});
