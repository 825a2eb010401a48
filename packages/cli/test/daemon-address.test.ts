import { describe, expect, it } from 'vitest';
import { parseGlobalOptions } from '../src/args/global-options.js';
import { main } from '../src/main.js';
import { parseDaemonAddress } from '../src/remote/daemon-address.js';
import { captureOutput } from './support/capture.js';

describe("a client's -H", () => {
  it("is parsed as the daemon parses its own: unix, tcp, HOST:PORT, Docker's default ports", () => {
    expect(parseDaemonAddress('unix:///run/x.sock', false)).toEqual({ kind: 'unix', path: '/run/x.sock' });
    expect(parseDaemonAddress('unix://', false)).toEqual({ kind: 'unix', path: '/run/netmode.sock' });
    expect(parseDaemonAddress('tcp://127.0.0.1:2999', false)).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 2999 });
    expect(parseDaemonAddress('tcp://localhost', false)).toEqual({ kind: 'tcp', host: 'localhost', port: 2375 });
    expect(parseDaemonAddress('tcp://localhost', true)).toEqual({ kind: 'tcp', host: 'localhost', port: 2376 });
    expect(parseDaemonAddress('tcp://[::1]:4000', false)).toEqual({ kind: 'tcp', host: '::1', port: 4000 });
    expect(parseDaemonAddress('127.0.0.1:5000', false)).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 5000 });
    expect(parseDaemonAddress('tcp://', false)).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 2375 });
  });

  it('refuses fd://, relative sockets, other schemes and bad ports as usage errors', () => {
    for (const bad of ['fd://', 'unix://run/x.sock', 'ssh://host', 'tcp://h:99999', 'tcp://h:1/path']) {
      expect(() => parseDaemonAddress(bad, false), bad).toThrow(expect.objectContaining({ code: 'ERR_USAGE' }));
    }
  });

  it('comes from -H, --host or NETMODE_HOST; the flag wins', () => {
    expect(parseGlobalOptions(['-H', 'unix:///a', 'ps']).globals.host).toBe('unix:///a');
    expect(parseGlobalOptions(['--host=unix:///b', 'ps']).globals.host).toBe('unix:///b');
    expect(parseGlobalOptions(['ps'], { NETMODE_HOST: 'unix:///c' }).globals.host).toBe('unix:///c');
    expect(parseGlobalOptions(['-H', 'unix:///a', 'ps'], { NETMODE_HOST: 'unix:///c' }).globals.host).toBe('unix:///a');
  });

  it("refuses the SDK's settings given as flags beside it: they are the daemon's", async () => {
    const { out, stderr } = captureOutput();
    const code = await main(['-H', 'unix:///nowhere.sock', '--firewall', 'none', '--bip', '10.1.0.1/24', 'network', 'ls'], {}, out);
    expect(code).toBe(1);
    expect(stderr()).toMatch(/^ERR_USAGE: --firewall, --bip: with -H \(or NETMODE_HOST\) the SDK's settings are the daemon's/);
  });

  it('reports a daemon that is not there as ERR_DAEMON_UNREACHABLE, exit 2', async () => {
    const { out, stderr } = captureOutput();
    const code = await main(
      ['--state-dir', '/nonexistent-netmode-test', '-H', 'unix:///nonexistent-netmode-test.sock', 'network', 'ls'],
      {},
      out,
    );
    expect(code).toBe(2);
    expect(stderr()).toMatch(/^ERR_DAEMON_UNREACHABLE: cannot reach the netmode daemon at unix:\/\/\/nonexistent-netmode-test\.sock/);
  });
});
