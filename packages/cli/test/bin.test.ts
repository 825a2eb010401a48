import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { netmode } from './support/cli.js';

// These drive the built binary too, but touch nothing on the machine: every
// case fails (or prints help) before netmode would open its state.
describe('the netmode binary, without touching the system', () => {
  it('documents its commands, global options with their variables, and exit codes in --help', async () => {
    const help = await netmode(['--help']);
    expect(help.code).toBe(0);
    for (const text of [
      'run',
      'exec',
      'ps',
      'inspect',
      'stop',
      'rm',
      'network',
      'doctor',
      'demo',
      '--icc[=false]',
      'NETMODE_HOST_NETNS',
      '125',
      '127',
    ]) {
      expect(help.stdout).toContain(text);
    }
    expect((await netmode(['run', '--help'])).stdout).toContain('[hostIp:][hostPort[-end]:]containerPort[-end][/tcp|/udp]');
    expect((await netmode(['network', 'create', '--help'])).stdout).toContain('--ip-range');
  });

  it('prints its version', async () => {
    expect(await netmode(['--version'])).toMatchObject({ code: 0, stdout: 'netmode 0.1.0\n' });
  });

  it('exits 1 with ERR_USAGE and a hint on bad usage', async () => {
    for (const args of [
      ['bogus'],
      ['ps', '--bogus'],
      ['--icc', 'false', 'ps'],
      ['--mtu=abc', 'ps'],
      ['inspect'],
      ['network', 'frobnicate'],
    ]) {
      const result = await netmode(args);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toMatch(/^ERR_USAGE: .+\n {2}hint: Run netmode --help/);
    }
    const bare = await netmode([]);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain('Usage: netmode');
  });

  it('exits 125 when run fails before its command starts, naming the bad -p', async () => {
    const result = await netmode(['run', '-p', '80:80:80:80', '--', 'true']);
    expect(result.code).toBe(125);
    expect(result.stderr).toContain('ERR_USAGE: -p "80:80:80:80": has too many colons');
    expect((await netmode(['run', '--net', 'none'])).code).toBe(125);
    expect((await netmode(['run', '--frob', '--', 'true'])).code).toBe(125);
  });

  it('exits 127 and 126 for a command that cannot be found or run, before creating anything', async () => {
    const missing = await netmode(['--state-dir', '/nonexistent/netmode', 'run', '--net', 'none', '--', 'no-such-command-here']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/^ERR_COMMAND_NOT_FOUND: no-such-command-here: not found in PATH\n {2}hint: /);
    const dir = await mkdtemp(join(tmpdir(), 'netmode-bin-test-'));
    const file = join(dir, 'not-executable');
    await writeFile(file, 'echo hi\n', { mode: 0o644 });
    const notExecutable = await netmode(['--state-dir', '/nonexistent/netmode', 'run', '--net', 'none', '--', file]);
    await rm(dir, { recursive: true, force: true });
    expect(notExecutable.code).toBe(126);
    expect(notExecutable.stderr).toContain('ERR_COMMAND_NOT_EXECUTABLE');
  });
});
