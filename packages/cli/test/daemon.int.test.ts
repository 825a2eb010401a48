import { integrationAvailable } from '@netmode/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpChannel } from '../src/remote/http-channel.js';
import { RemoteNetMode } from '../src/remote/remote-netmode.js';
import { assertBuilt, finish, netmode, start } from './support/cli.js';
import { startDaemon, type TestDaemon } from './support/daemon.js';
import { createWorld, type World } from './support/world.js';

const root = integrationAvailable();

describe.skipIf(!root)('netmode daemon and the CLI through -H (the built binary, in throwaway namespaces)', () => {
  let world: World;
  let daemon: TestDaemon | undefined;
  // What a client of the daemon gives: its own state directory (the container records) and -H.
  const client = () => ['--state-dir', world.fixture.stateDir, '-H', (daemon as TestDaemon).url];
  const local = () => world.globals;

  beforeAll(async () => {
    assertBuilt();
    world = await createWorld();
    daemon = await startDaemon(world.globals);
  });
  afterAll(async () => {
    await daemon?.stop();
    await world?.cleanup();
  });

  it('network ls prints the same table and JSON with and without -H', async () => {
    expect((await netmode([...local(), 'network', 'create', '--subnet', '10.239.1.0/24', 'same'])).code).toBe(0);
    for (const args of [
      ['network', 'ls'],
      ['network', 'ls', '--json'],
      ['network', 'inspect', 'same'],
    ]) {
      const inProcess = await netmode([...local(), ...args]);
      const remote = await netmode([...client(), ...args]);
      expect(inProcess.code, inProcess.stderr).toBe(0);
      expect(remote).toEqual(inProcess);
    }
    expect((await netmode([...client(), 'network', 'rm', 'same'])).code).toBe(0);
    expect((await netmode([...local(), 'network', 'ls'])).stdout).not.toContain('same');
  });

  it('an error prints the same code, message and hint, and exits with the same status, through -H', async () => {
    expect((await netmode([...client(), 'network', 'create', '--subnet', '10.239.2.0/24', 'dup'])).code).toBe(0);
    const cases = [
      ['run', '--net', 'nosuch', '--', 'true'],
      ['run', '--net', 'none', '-p', '80', '--', 'true'],
      ['network', 'inspect', 'nosuch'],
      ['network', 'rm', 'nosuch'],
      ['network', 'create', 'dup'],
      ['network', 'create', '--subnet', '10.239.2.0/24', 'overlap'],
      ['inspect', 'ghost'],
    ];
    for (const args of cases) {
      const inProcess = await netmode([...local(), ...args]);
      const remote = await netmode([...client(), ...args]);
      expect(inProcess.code, args.join(' ')).not.toBe(0);
      expect({ args, code: remote.code, stderr: remote.stderr }).toEqual({ args, code: inProcess.code, stderr: inProcess.stderr });
    }
    expect((await netmode([...client(), 'network', 'rm', 'dup'])).code).toBe(0);
  });

  it('a daemon that is not there is ERR_DAEMON_UNREACHABLE, exit 2 (125 for run), and nothing is created', async () => {
    const nowhere = ['--state-dir', world.fixture.stateDir, '-H', `unix://${world.fixture.stateDir}/nosuch.sock`];
    const ls = await netmode([...nowhere, 'network', 'ls']);
    expect(ls.code).toBe(2);
    expect(ls.stderr).toMatch(/^ERR_DAEMON_UNREACHABLE: cannot reach the netmode daemon at unix:\/\/.*nosuch\.sock/);
    const run = await netmode([...nowhere, 'run', '--name', 'never', '--', 'true']);
    expect(run.code).toBe(125);
    expect((await netmode([...local(), 'ps', '--json'])).stdout.trim()).toBe('[]');
    expect(await world.sandboxes()).toEqual([]);
  });

  it('SIGTERM during a connect: the connect finishes, the daemon exits 0, and the next one reconciles nothing half-done', async () => {
    expect((await netmode([...client(), 'run', '-d', '--name', 'a', '--', 'sleep', '100'])).code).toBe(0);
    expect((await netmode([...client(), 'network', 'create', '--subnet', '10.239.3.0/24', 'second'])).code).toBe(0);
    const stopping = daemon as TestDaemon;
    // The daemon's own events say when the connect is under way: its first command.
    const watcher = new RemoteNetMode(new HttpChannel({ kind: 'unix', path: stopping.url.slice('unix://'.length) }));
    await watcher.watchEvents();
    const underWay = new Promise<void>((resolve) => watcher.events.once('command:exec', () => resolve()));
    const connect = finish(start([...client(), 'network', 'connect', 'second', 'a']));
    await underWay;
    stopping.child.kill('SIGTERM');
    const [connected, stopped] = await Promise.all([connect, stopping.stop()]);
    await watcher.close();
    expect(connected.code, connected.stderr).toBe(0);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stderr).toContain('SIGTERM: no new requests; finishing those in flight');

    daemon = await startDaemon(world.globals);
    expect(daemon.child.exitCode).toBeNull();
    const inspect = await netmode([...client(), 'inspect', '--json', 'a']);
    expect(inspect.code, inspect.stderr).toBe(0);
    const seen = JSON.parse(inspect.stdout) as { endpoints: Record<string, { status: string }> };
    expect(Object.keys(seen.endpoints).sort()).toEqual(['bridge', 'second']);
    expect(Object.values(seen.endpoints).map((e) => e.status)).toEqual(['attached', 'attached']);
    const reconcile = await netmode([...client(), 'reconcile', '--json']);
    expect(JSON.parse(reconcile.stdout)).toMatchObject({ finished: [], lost: [], broken: [], failures: [] });
    expect((await netmode([...client(), 'rm', '-f', 'a'])).code).toBe(0);
    expect((await netmode([...client(), 'network', 'rm', 'second'])).code).toBe(0);
    expect(await world.sandboxes()).toEqual([]);
  });
});
