import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode, NetModeError, isNetModeError, isToolFailure } from '../../src/errors.js';
import { NetModeEmitter, type CommandExecEvent } from '../../src/events.js';
import { ExecaRunner, buildArgv, type ExecaRunnerOptions } from '../../src/exec/execa-runner.js';
import { HelperRunner } from '../../src/exec/helper-runner.js';
import type { CommandRunner } from '../../src/exec/runner.js';
import { resolveToolPath } from '../../src/exec/tool-path.js';

// Both runners behave the same: one test suite for the two. The helper
// runner needs the built helper script (pnpm build).
const helpers: HelperRunner[] = [];
const RUNNERS: [string, (options?: ExecaRunnerOptions) => CommandRunner][] = [
  ['ExecaRunner', (options) => new ExecaRunner(options)],
  [
    'HelperRunner',
    (options) => {
      const runner = new HelperRunner(options);
      helpers.push(runner);
      return runner;
    },
  ],
];
afterAll(() => {
  for (const runner of helpers) runner.close();
});

// These run harmless programs (`sleep`, `cat`, `ip -V`) and need no root.
describe.each(RUNNERS)('%s', (_name, make) => {
  it('passes standard input, returns output and reports each process as an event', async () => {
    const events = new NetModeEmitter();
    const seen: { argv: readonly string[]; failed: boolean; durationMs: number }[] = [];
    events.on('command:exec', (e) => seen.push(e));
    const result = await make({ events }).run({ command: 'cat', args: [], input: 'a b\n$(x) `y`\n' });
    expect(result.stdout).toBe('a b\n$(x) `y`\n');
    expect(result.exitCode).toBe(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.argv).toEqual([resolveToolPath('cat')]);
    expect(seen[0]?.failed).toBe(false);
    expect(seen[0]?.durationMs).toBeGreaterThan(0);
  });

  it('reports a failure its caller expected as an answer as not failed, and still rejects with it', async () => {
    const events = new NetModeEmitter();
    const seen: CommandExecEvent[] = [];
    events.on('command:exec', (e) => seen.push(e));
    const runner = make({ events });
    // Reads only; the link does not exist ("Device … does not exist", exit 1).
    const probe = { command: 'ip', args: ['link', 'show', 'dev', 'npk-absent0'] };
    const answers = [
      await runner.run({ ...probe, expectedFailure: 'missing' }).catch((e: unknown) => e),
      await runner.run(probe).catch((e: unknown) => e),
      await runner.run({ ...probe, expectedFailure: 'exists' }).catch((e: unknown) => e),
    ];
    for (const answer of answers) expect(isToolFailure(answer, 'missing'), String(answer)).toBe(true);
    expect(seen.map((e) => [e.exitCode, e.failed, e.expected])).toEqual([
      [1, false, 'missing'],
      [1, true, undefined],
      [1, true, undefined],
    ]);
  });

  it("reports each process in the caller's async context (AsyncLocalStorage)", async () => {
    const { AsyncLocalStorage } = await import('node:async_hooks');
    const als = new AsyncLocalStorage<string>();
    const events = new NetModeEmitter();
    const seen: (string | undefined)[] = [];
    events.on('command:exec', () => seen.push(als.getStore()));
    const runner = make({ events });
    await Promise.all(['a', 'b'].map((label) => als.run(label, () => runner.run({ command: 'ip', args: ['-V'] }))));
    expect(seen.sort()).toEqual(['a', 'b']);
  });

  it('refuses an argument with a NUL byte (ERR_INVALID_CONFIG, no process); the next command runs', async () => {
    const runner = make();
    const error = await runner.run({ command: 'echo', args: ['a\u0000b'] }).catch((e: unknown) => e);
    expect(isNetModeError(error, ErrorCode.INVALID_CONFIG)).toBe(true);
    expect((await runner.run({ command: 'echo', args: ['next'] })).stdout).toBe('next\n');
  });

  it('never uses a shell: metacharacters arrive as plain arguments', async () => {
    const result = await make().run({ command: 'echo', args: ['$HOME', ';', 'ls', '|', '`id`'] });
    expect(result.stdout).toBe('$HOME ; ls | `id`\n');
  });

  it('runs with LC_ALL=C so messages can be classified', async () => {
    const result = await make().run({ command: 'env', args: [] });
    expect(result.stdout).toMatch(/^LC_ALL=C$/m);
  });

  it('turns a failing exit into ERR_COMMAND_FAILED with argv, exit code and stderr', async () => {
    const error = await make()
      .run({ command: 'ip', args: ['link', 'show', 'dev', 'no-such-link0'] })
      .catch((e: unknown) => e);
    expect(isNetModeError(error, ErrorCode.COMMAND_FAILED)).toBe(true);
    const context = (error as NetModeError).context;
    expect(context['argv']).toEqual([resolveToolPath('ip'), 'link', 'show', 'dev', 'no-such-link0']);
    expect(context['exitCode']).toBe(1);
    expect(String(context['stderr'])).toMatch(/does not exist/);
  });

  it('kills a process that outlives its timeout with ERR_COMMAND_TIMEOUT', async () => {
    const error = await make()
      .run({ command: 'sleep', args: ['5'], timeoutMs: 100 })
      .catch((e: unknown) => e);
    expect(isNetModeError(error, ErrorCode.COMMAND_TIMEOUT)).toBe(true);
  });

  it('kills a process whose signal aborts with ERR_ABORTED', async () => {
    const controller = new AbortController();
    const pending = make().run({ command: 'sleep', args: ['5'], signal: controller.signal });
    setTimeout(() => controller.abort(new Error('shutting down')), 50);
    const error = await pending.catch((e: unknown) => e);
    expect(isNetModeError(error, ErrorCode.ABORTED)).toBe(true);
  });

  it('gives ERR_MISSING_TOOL naming the package for a tool that is not installed', () => {
    let caught: unknown;
    try {
      resolveToolPath('no-such-tool-xyz');
    } catch (error) {
      caught = error;
    }
    expect(isNetModeError(caught, ErrorCode.MISSING_TOOL)).toBe(true);
    expect(() => resolveToolPath('a b')).toThrow(NetModeError);
  });

  it('gives ERR_NETNS_NOT_FOUND when the namespace to enter does not exist', async () => {
    const error = await make()
      .run({ command: 'ip', args: ['link'], netns: { kind: 'named', name: 'netmode-no-such-ns' } })
      .catch((e: unknown) => e);
    expect(isNetModeError(error, ErrorCode.NETNS_NOT_FOUND)).toBe(true);
  });

  it('enters other namespaces with nsenter --net=PATH, never ip -n', () => {
    expect(buildArgv({ command: 'ip', args: ['-batch', '-'], netns: { kind: 'named', name: 'nm-a' } })).toEqual([
      resolveToolPath('nsenter'),
      '--net=/run/netns/nm-a',
      '--',
      resolveToolPath('ip'),
      '-batch',
      '-',
    ]);
    expect(buildArgv({ command: 'ip', args: ['link'], netns: { kind: 'path', path: '/proc/1/ns/net' } })[1]).toBe('--net=/proc/1/ns/net');
    expect(buildArgv({ command: 'ip', args: ['link'], netns: { kind: 'host' } })).toEqual([resolveToolPath('ip'), 'link']);
  });
});

describe('HelperRunner, beyond what it shares with ExecaRunner', () => {
  it('starts every command from one helper process, and a new helper after that one died', async () => {
    const runner = new HelperRunner();
    helpers.push(runner);
    await runner.run({ command: 'ip', args: ['-V'] });
    const first = runner.helperPid as number;
    await runner.run({ command: 'ip', args: ['-V'] });
    expect(runner.helperPid).toBe(first);
    // A command in flight when the helper dies fails; the next one gets a new helper.
    const inFlight = runner.run({ command: 'sleep', args: ['5'] }).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    process.kill(first, 'SIGKILL');
    expect(isNetModeError(await inFlight, ErrorCode.COMMAND_FAILED)).toBe(true);
    expect((await runner.run({ command: 'echo', args: ['again'] })).stdout).toBe('again\n');
    expect(runner.helperPid).not.toBe(first);
  });

  it("gives commands ExecaRunner's environment (without NODE_OPTIONS) with LC_ALL=C", async () => {
    const runner = new HelperRunner();
    helpers.push(runner);
    const lines = async (r: CommandRunner) =>
      (await r.run({ command: 'env', args: [] })).stdout
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('NODE_OPTIONS='))
        .sort();
    const viaHelper = await lines(runner);
    expect(viaHelper).toEqual(await lines(new ExecaRunner()));
    expect(viaHelper).toContain('LC_ALL=C');
  });

  it('kills the commands of a helper that died, so nothing it started outlives it', async () => {
    const runner = new HelperRunner();
    helpers.push(runner);
    await runner.run({ command: 'ip', args: ['-V'] });
    const helper = runner.helperPid as number;
    const inFlight = runner.run({ command: 'sleep', args: ['30'] }).catch((e: unknown) => e);
    const sleeper = await waitFor(() => processesInGroup(helper).find((p) => p.comm === 'sleep')?.pid);
    process.kill(helper, 'SIGKILL');
    expect(isNetModeError(await inFlight, ErrorCode.COMMAND_FAILED)).toBe(true);
    expect(await waitFor(() => (alive(sleeper) ? undefined : true))).toBe(true);
  });

  it('lets a closed helper finish its commands without failing those of the next one', async () => {
    const runner = new HelperRunner();
    helpers.push(runner);
    const first = runner.run({ command: 'sleep', args: ['0.3'] });
    const firstHelper = runner.helperPid;
    runner.close();
    const second = runner.run({ command: 'echo', args: ['second'] });
    expect(runner.helperPid).not.toBe(firstHelper);
    expect((await first).exitCode).toBe(0);
    expect((await second).stdout).toBe('second\n');
  });

  it('does not keep the process alive while idle', async () => {
    const { execa } = await import('execa');
    const module = new URL('../../dist/index.js', import.meta.url).href;
    const script = `const { HelperRunner } = await import(${JSON.stringify(module)});
      const out = await new HelperRunner().run({ command: 'echo', args: ['done'] });
      process.stdout.write(out.stdout);`;
    // No close(): the process must still end by itself once its last command has.
    const child = await execa(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000, reject: false });
    expect({ stdout: child.stdout, timedOut: child.timedOut, exitCode: child.exitCode }).toEqual({
      stdout: 'done',
      timedOut: false,
      exitCode: 0,
    });
  });
});

/** The processes whose process group is `pgid`, from /proc. */
function processesInGroup(pgid: number): { pid: number; comm: string }[] {
  const found: { pid: number; comm: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid pgrp …; comm may hold spaces, so split after its ')'.
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) found.push({ pid: Number(name), comm });
    } catch {
      // It exited while we looked.
    }
  }
  return found;
}

/** Whether `pid` is a live process (not gone, not a zombie). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Polls `probe` every 20 ms for up to 5 s; resolves to its first defined value. */
async function waitFor<T>(probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < 250; i += 1) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('timed out waiting');
}
