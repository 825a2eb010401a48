import { describe, expect, it, vi } from 'vitest';
import { COMMANDS } from '../src/declarations/index.js';
import { main } from '../src/main.js';
import { eachCommand } from '../src/registry/command-spec.js';
import { captureOutput } from './support/capture.js';

// Records whether anything imported the SDK's runtime: the CLI itself, a
// driver package, or the session.
const sdk = vi.hoisted(() => ({ loaded: false }));
vi.mock('@netmode/core', async (importOriginal) => {
  sdk.loaded = true;
  return importOriginal();
});

const run = async (argv: string[]) => {
  const { out, stdout, stderr } = captureOutput();
  const code = await main(argv, {}, out);
  return { code, stdout: stdout(), stderr: stderr() };
};

describe('help and usage errors load no module of the SDK', () => {
  it('netmode COMMAND --help, for every command, and the top-level and group help', async () => {
    for (const [path] of eachCommand(COMMANDS)) expect((await run([...path.split(' '), '--help'])).code, path).toBe(0);
    expect((await run(['--help'])).code).toBe(0);
    expect((await run(['help', 'network', 'create'])).code).toBe(0);
    expect((await run(['network'])).code).toBe(1);
    expect(sdk.loaded).toBe(false);
  });

  it.each([
    [['bogus'], 1, 'unknown command "bogus"'],
    [['--mtu=abc', 'ps'], 1, '--mtu must be a whole number'],
    [['ps', '--bogus'], 1, "netmode ps: Unknown option '--bogus'"],
    [['ps', 'extra'], 1, 'netmode ps: unexpected argument extra'],
    [['inspect'], 1, 'netmode inspect: give exactly one container name'],
    [['rm'], 1, 'netmode rm: give at least one container name'],
    [['exec'], 1, 'netmode exec: give a container name and a command'],
    [['exec', 'web'], 1, 'netmode exec: give the command to run in web'],
    [['stop', '-t', 'soon', 'web'], 1, 'netmode stop: -t "soon" must be a whole number of seconds'],
    [['run', '--net', 'none'], 125, 'netmode run: give the command to run, e.g. netmode run --net none -- ip addr'],
    [['run', '-p', '80:80:80:80', '--', 'true'], 125, '-p "80:80:80:80": has too many colons'],
    [['network', 'frobnicate'], 1, 'netmode network: unknown subcommand "frobnicate" (create, ls, inspect, rm, connect, disconnect)'],
    [['network', 'connect', 'appnet'], 1, 'netmode network connect: give NETWORK CONTAINER: a network name, then a container name'],
    [['network', 'disconnect', 'a', 'b', 'c'], 1, 'netmode network disconnect: give NETWORK CONTAINER'],
    [['network', 'connect', '--gw-priority', 'high', 'a', 'b'], 1, '--gw-priority "high": must be a whole number'],
    [['run', '--net', 'a', '--network', 'a', '--', 'true'], 125, 'netmode run: network "a" is given more than once'],
    [['network', 'create', '--gateway', '10.0.0.1', 'x'], 1, 'netmode network create: --gateway and --ip-range need --subnet'],
    [['network', 'create', '-o', 'novalue', 'x'], 1, 'netmode network create: -o "novalue" must be key=value'],
    [['--iptables=false', 'demo'], process.getuid?.() === 0 ? 1 : 2, process.getuid?.() === 0 ? 'needs a firewall' : 'ERR_NOT_ROOT'],
  ])('%j', async (argv, code, message) => {
    const result = await run(argv);
    expect(result.code).toBe(code);
    expect(result.stderr).toContain(message);
    expect(sdk.loaded).toBe(false);
  });

  it('while running a command does load it (the check above can see a load)', async () => {
    await import('../src/session.js');
    expect(sdk.loaded).toBe(true);
  });
});
