import { AsyncResource } from 'node:async_hooks';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ErrorCode, NetModeError } from '../errors.js';
import type { NetModeEmitter } from '../events.js';
import { formatNetns } from '../model/netns-ref.js';
import { buildArgv, classifyFailure } from './execa-runner.js';
import type { CommandResult, CommandRunner, CommandSpec } from './runner.js';
import type { HelperReply, HelperRequest } from './spawn-helper.js';

/** Options of {@link HelperRunner}. */
export interface HelperRunnerOptions {
  /** Milliseconds after which a command is killed, unless its spec says otherwise. Default 30 000. */
  readonly timeoutMs?: number;
  /** Where `command:exec` events go; none are emitted when absent. */
  readonly events?: NetModeEmitter;
}

type HelperProcess = ChildProcessByStdio<Writable, Readable, null>;

interface Pending {
  readonly spec: CommandSpec;
  readonly argv: readonly string[];
  readonly started: number;
  /** The caller's async context: the reply arrives on the helper's stream, whose context is another. */
  readonly scope: AsyncResource;
  readonly resolve: (result: CommandResult) => void;
  readonly reject: (error: unknown) => void;
  readonly detach: () => void;
}

/**
 * A {@link CommandRunner} that starts every command through one long-lived
 * helper process (a small Node process running `spawn-helper.js`) instead
 * of from the SDK's own process. The cost of starting a process grows with
 * the resident size of the process that starts it — about 2.8 ms from a
 * small Node process, 60–80 ms from one holding 2 GiB — so a runtime with a
 * large heap gets the small process's price for every `ip` and `nft`.
 *
 * Commands, namespaces (`nsenter --net=PATH`), timeouts, aborts, errors and
 * `command:exec` events are exactly those of {@link ExecaRunner}; only where
 * the process is started from differs. The helper starts on the first
 * command, does not keep the SDK's process alive while idle, and is started
 * again should it die (commands in flight then fail with ERR_COMMAND_FAILED).
 * {@link close} ends it.
 */
export class HelperRunner implements CommandRunner {
  readonly #timeoutMs: number;
  readonly #events: NetModeEmitter | undefined;
  readonly #pending = new Map<number, Pending>();
  #helper: HelperProcess | undefined;
  #nextId = 1;

  constructor(options: HelperRunnerOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#events = options.events;
  }

  /** The helper's PID while it runs, else `undefined`. */
  get helperPid(): number | undefined {
    return this.#helper?.pid;
  }

  async run(spec: CommandSpec): Promise<CommandResult> {
    const argv = buildArgv(spec);
    const [file, ...args] = argv as [string, ...string[]];
    if (spec.signal?.aborted) throw classifyFailure(spec, argv, aborted());
    const helper = this.#ensureHelper();
    const id = this.#nextId++;
    return new Promise<CommandResult>((resolve, reject) => {
      const onAbort = () => helper.stdin.write(`${JSON.stringify({ id, cancel: true })}\n`);
      spec.signal?.addEventListener('abort', onAbort, { once: true });
      const detach = () => spec.signal?.removeEventListener('abort', onAbort);
      const scope = new AsyncResource('netmode:command');
      this.#pending.set(id, { spec, argv, started: performance.now(), scope, resolve, reject, detach });
      this.#ref(true);
      const request: HelperRequest = { id, file, args, input: spec.input ?? null, timeoutMs: spec.timeoutMs ?? this.#timeoutMs };
      helper.stdin.write(`${JSON.stringify(request)}\n`);
    });
  }

  /** Ends the helper (it finishes the commands it is running first). Safe to call twice. */
  close(): void {
    const helper = this.#helper;
    this.#helper = undefined;
    helper?.stdin.end();
  }

  #ensureHelper(): HelperProcess {
    if (this.#helper && this.#helper.exitCode === null && this.#helper.signalCode === null) return this.#helper;
    const helper = spawn(process.execPath, [helperScript()], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#helper = helper;
    helper.stdin.on('error', () => {});
    createInterface({ input: helper.stdout }).on('line', (line) => this.#settle(JSON.parse(line) as HelperReply));
    helper.on('exit', (code, signal) => {
      if (this.#helper === helper) this.#helper = undefined;
      const reason = `the command helper (PID ${helper.pid}) exited (${signal ?? `status ${code}`})`;
      for (const [id, pending] of this.#pending) {
        this.#pending.delete(id);
        pending.detach();
        const error = new NetModeError(ErrorCode.COMMAND_FAILED, `${pending.spec.command}: ${reason}`, { context: { argv: pending.argv } });
        pending.scope.runInAsyncScope(() => pending.reject(error));
        pending.scope.emitDestroy();
      }
    });
    return helper;
  }

  #settle(reply: HelperReply): void {
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    pending.detach();
    if (this.#pending.size === 0) this.#ref(false);
    // Events and the caller's continuation see the caller's async context (AsyncLocalStorage).
    pending.scope.runInAsyncScope(() => this.#finish(pending, reply));
    pending.scope.emitDestroy();
  }

  #finish(pending: Pending, reply: HelperReply): void {
    const { spec, argv } = pending;
    const durationMs = performance.now() - pending.started;
    const exitCode = reply.exitCode ?? undefined;
    const failed = reply.exitCode !== 0;
    this.#events?.emit('command:exec', { argv, netns: formatNetns(spec.netns ?? { kind: 'host' }), durationMs, exitCode, failed });
    if (!failed) {
      pending.resolve({ stdout: reply.stdout, stderr: reply.stderr, exitCode: 0, durationMs });
      return;
    }
    pending.reject(
      classifyFailure(spec, argv, {
        stderr: reply.stderr,
        exitCode,
        timedOut: reply.timedOut,
        aborted: reply.canceled,
        spawnError: reply.spawnError ?? undefined,
      }),
    );
  }

  /** Keeps the SDK's process alive only while a command is in flight. */
  #ref(busy: boolean): void {
    const helper = this.#helper;
    if (!helper) return;
    for (const handle of [helper, helper.stdin, helper.stdout] as { ref(): void; unref(): void }[]) {
      if (busy) handle.ref();
      else handle.unref();
    }
  }
}

function aborted() {
  return { stderr: '', exitCode: undefined, timedOut: false, aborted: true, spawnError: undefined };
}

/**
 * The helper script: `spawn-helper.js` beside this module in the built
 * package; when this module runs from the sources (the project's own tests),
 * the built one.
 */
function helperScript(): string {
  const beside = fileURLToPath(new URL('./spawn-helper.js', import.meta.url));
  if (existsSync(beside)) return beside;
  const built = beside.replace(/\/src\/exec\/spawn-helper\.js$/, '/dist/exec/spawn-helper.js');
  if (existsSync(built)) return built;
  throw new NetModeError(ErrorCode.MISSING_TOOL, `the command helper ${beside} is missing: build @netmode/core (pnpm build)`, {
    context: { path: beside },
  });
}
