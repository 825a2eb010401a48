import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { ErrorCode, NetModeError, invalidConfig, type ToolFailure } from '../errors.js';
import type { CommandExecEvent, NetModeEmitter } from '../events.js';
import { formatNetns, netnsPath } from '../model/netns-ref.js';
import { expectedAnswer, type CommandResult, type CommandRunner, type CommandSpec } from './runner.js';
import { classifyToolFailure } from './tool-failure.js';
import { resolveToolPath } from './tool-path.js';

/** Options of the default {@link CommandRunner}. */
export interface ExecaRunnerOptions {
  /** Milliseconds after which a process is killed, unless its spec says otherwise. Default 30 000. */
  readonly timeoutMs?: number;
  /** Where `command:exec` events go; none are emitted when absent. */
  readonly events?: NetModeEmitter;
}

/**
 * The default {@link CommandRunner}: one execa child process per command, with
 * `LC_ALL=C` so tool messages can be classified, standard input only when the
 * spec gives one, and `nsenter --net=PATH` in front when the command must run
 * in another namespace. `nsenter` is used rather than `ip -n`, because `ip -n`
 * also enters a private mount namespace, which loses `ip netns add` and gets
 * slower as namespaces pile up.
 */
export class ExecaRunner implements CommandRunner {
  readonly #timeoutMs: number;
  readonly #events: NetModeEmitter | undefined;

  constructor(options: ExecaRunnerOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#events = options.events;
  }

  async run(spec: CommandSpec): Promise<CommandResult> {
    const argv = buildArgv(spec);
    const [file, ...args] = argv as [string, ...string[]];
    const netns = formatNetns(spec.netns ?? { kind: 'host' });
    const started = performance.now();
    const result = await execa(file, args, {
      input: spec.input,
      stdin: spec.input === undefined ? 'ignore' : 'pipe',
      env: { LC_ALL: 'C' },
      timeout: spec.timeoutMs ?? this.#timeoutMs,
      cancelSignal: spec.signal,
      reject: false,
      stripFinalNewline: false,
    });
    const durationMs = performance.now() - started;
    const exitCode = typeof result.exitCode === 'number' ? result.exitCode : undefined;
    const stdout = String(result.stdout ?? '');
    const stderr = String(result.stderr ?? '');
    if (!result.failed) {
      this.#events?.emit('command:exec', { argv, netns, durationMs, exitCode, failed: false });
      return { stdout, stderr, exitCode: 0, durationMs };
    }
    const error = classifyFailure(spec, argv, {
      stderr,
      exitCode,
      timedOut: result.timedOut,
      aborted: result.isCanceled,
      spawnError: exitCode === undefined && !result.timedOut && !result.isCanceled ? result.originalMessage : undefined,
    });
    this.#events?.emit('command:exec', execEvent(argv, netns, durationMs, exitCode, expectedAnswer(spec, error)));
    throw error;
  }
}

/** The `command:exec` event of a failed command: not failed when it failed as expected. */
export function execEvent(
  argv: readonly string[],
  netns: string,
  durationMs: number,
  exitCode: number | undefined,
  expected: ToolFailure | undefined,
): CommandExecEvent {
  return { argv, netns, durationMs, exitCode, failed: expected === undefined, ...(expected === undefined ? {} : { expected }) };
}

/**
 * The full argument vector for a spec, with the `nsenter` prefix when it
 * names a namespace.
 *
 * @throws NetModeError ERR_INVALID_CONFIG for an argument holding a NUL byte
 * (no process can receive it); ERR_MISSING_TOOL for a tool that is not installed.
 */
export function buildArgv(spec: CommandSpec): string[] {
  const nul = spec.args.findIndex((arg) => arg.includes('\0'));
  if (nul >= 0) throw invalidConfig(`args[${nul}]`, `${JSON.stringify(spec.args[nul])} holds a NUL byte, which no argument can carry`);
  const tool = resolveToolPath(spec.command);
  if (spec.netns === undefined || spec.netns.kind === 'host') return [tool, ...spec.args];
  return [resolveToolPath('nsenter'), `--net=${netnsPath(spec.netns)}`, '--', tool, ...spec.args];
}

interface Failure {
  readonly stderr: string;
  readonly exitCode: number | undefined;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  readonly spawnError: string | undefined;
}

/** Turns a failed process into the NetModeError whose code says what to do about it. */
export function classifyFailure(spec: CommandSpec, argv: readonly string[], failure: Failure): NetModeError {
  const netns = spec.netns ?? { kind: 'host' as const };
  const context = {
    argv,
    netns: formatNetns(netns),
    exitCode: failure.exitCode,
    stderr: failure.stderr.trim(),
    ...(spec.input === undefined ? {} : { input: spec.input }),
  };
  const what = `${spec.command} ${spec.args.join(' ')}`.trim();
  const detail = failure.stderr.trim() || failure.spawnError || `exit status ${failure.exitCode}`;
  if (failure.timedOut) {
    return new NetModeError(ErrorCode.COMMAND_TIMEOUT, `${what} did not finish in time and was killed`, { context });
  }
  if (failure.aborted) {
    return new NetModeError(ErrorCode.ABORTED, `${what} was aborted`, { context, cause: spec.signal?.reason });
  }
  if (netns.kind !== 'host' && !existsSync(netnsPath(netns))) {
    return new NetModeError(ErrorCode.NETNS_NOT_FOUND, `network namespace ${formatNetns(netns)} does not exist`, {
      context,
    });
  }
  if (/Operation not permitted|Permission denied/.test(failure.stderr)) {
    return new NetModeError(ErrorCode.PERMISSION, `${what}: ${detail} (netmode needs root or CAP_NET_ADMIN and CAP_SYS_ADMIN)`, {
      context,
    });
  }
  return new NetModeError(ErrorCode.COMMAND_FAILED, `${what} failed: ${detail}`, {
    context,
    failure: classifyToolFailure(failure.stderr),
  });
}
