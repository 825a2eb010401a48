import { AsyncResource } from 'node:async_hooks';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ErrorCode, NetModeError, errorMessage } from '../errors.js';
import type { NetModeEmitter } from '../events.js';
import { formatNetns } from '../model/netns-ref.js';
import { buildArgv, classifyFailure, execEvent } from './execa-runner.js';
import { expectedAnswer, type CommandResult, type CommandRunner, type CommandSpec } from './runner.js';
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

/** One helper process and the commands it is running. */
interface Generation {
  readonly process: HelperProcess;
  readonly pending: Map<number, Pending>;
}

/**
 * A {@link CommandRunner} that starts every command through one long-lived
 * helper process (a small Node process running `spawn-helper.js`) instead
 * of from the SDK's own process. Starting a process gets slower the more
 * memory the process that starts it holds — measured here, `/bin/true`
 * through `nsenter` costs 2.8 ms from the helper whether the SDK's process
 * holds 70 MiB or 2 GiB, and 61 ms from the SDK's process at 2 GiB — so a
 * runtime with a large heap gets the small process's price for every `ip`
 * and `nft`.
 *
 * Commands, namespaces (`nsenter --net=PATH`), timeouts (SIGTERM, then
 * SIGKILL after 5 s), aborts, the 100 MB output cap, errors and
 * `command:exec` events are those of {@link ExecaRunner}; commands see the
 * same environment with `LC_ALL=C`, except `NODE_OPTIONS`, which the helper
 * (a Node process) is started without. Replies run in the caller's async
 * context (AsyncLocalStorage).
 *
 * The helper starts on the first command, in a process group of its own, and
 * does not keep the SDK's process alive while idle (no `close()` is needed
 * before exiting; it ends when the SDK's process does). Should it die, the
 * commands it was running are killed with it (so a rollback never overlaps
 * them) and fail with ERR_COMMAND_FAILED, and the next command starts a new
 * helper. {@link close} ends it after its running commands.
 */
export class HelperRunner implements CommandRunner {
  readonly #timeoutMs: number;
  readonly #events: NetModeEmitter | undefined;
  #current: Generation | undefined;
  #nextId = 1;

  constructor(options: HelperRunnerOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#events = options.events;
  }

  /** The helper's PID while it runs, else `undefined`. */
  get helperPid(): number | undefined {
    return this.#current?.process.pid;
  }

  async run(spec: CommandSpec): Promise<CommandResult> {
    const argv = buildArgv(spec);
    const [file, ...args] = argv as [string, ...string[]];
    if (spec.signal?.aborted) throw classifyFailure(spec, argv, aborted());
    const generation = this.#ensureHelper(argv);
    const helper = generation.process;
    const id = this.#nextId++;
    return new Promise<CommandResult>((resolve, reject) => {
      const onAbort = () => helper.stdin.write(`${JSON.stringify({ id, cancel: true })}\n`);
      spec.signal?.addEventListener('abort', onAbort, { once: true });
      const detach = () => spec.signal?.removeEventListener('abort', onAbort);
      const scope = new AsyncResource('netmode:command');
      generation.pending.set(id, { spec, argv, started: performance.now(), scope, resolve, reject, detach });
      ref(generation, true);
      const request: HelperRequest = { id, file, args, input: spec.input ?? null, timeoutMs: spec.timeoutMs ?? this.#timeoutMs };
      helper.stdin.write(`${JSON.stringify(request)}\n`);
    });
  }

  /** Ends the helper (it finishes the commands it is running first). Safe to call twice. */
  close(): void {
    const generation = this.#current;
    this.#current = undefined;
    generation?.process.stdin.end();
  }

  #ensureHelper(argv: readonly string[]): Generation {
    const current = this.#current;
    if (current && current.process.exitCode === null && current.process.signalCode === null) return current;
    const env = { ...process.env };
    // A preload (an APM agent, say) must not run in the helper or write on its protocol stream.
    delete env['NODE_OPTIONS'];
    let helper: HelperProcess;
    try {
      helper = spawn(process.execPath, [helperScript()], { stdio: ['pipe', 'pipe', 'inherit'], env, detached: true });
    } catch (error) {
      throw new NetModeError(ErrorCode.COMMAND_FAILED, `the command helper could not be started: ${errorMessage(error)}`, {
        cause: error,
        context: { argv },
      });
    }
    const generation: Generation = { process: helper, pending: new Map() };
    this.#current = generation;
    helper.stdin.on('error', () => {});
    createInterface({ input: helper.stdout }).on('line', (line) => {
      const reply = parseReply(line);
      if (reply) this.#settle(generation, reply);
    });
    const fail = (reason: string) => {
      if (this.#current === generation) this.#current = undefined;
      // The helper's process group: commands it was still running die with it.
      if (helper.pid !== undefined) {
        try {
          process.kill(-helper.pid, 'SIGKILL');
        } catch {
          // Nothing left in the group.
        }
      }
      for (const [id, pending] of generation.pending) {
        generation.pending.delete(id);
        pending.detach();
        const error = new NetModeError(ErrorCode.COMMAND_FAILED, `${pending.spec.command}: ${reason}`, { context: { argv: pending.argv } });
        pending.scope.runInAsyncScope(() => pending.reject(error));
        pending.scope.emitDestroy();
      }
    };
    helper.on('error', (error) => fail(`the command helper failed: ${error.message}`));
    // 'close', not 'exit': every reply it wrote has been read by then.
    helper.on('close', (code, signal) => fail(`the command helper (PID ${helper.pid}) exited (${signal ?? `status ${code}`})`));
    return generation;
  }

  #settle(generation: Generation, reply: HelperReply): void {
    const pending = generation.pending.get(reply.id);
    if (!pending) return;
    generation.pending.delete(reply.id);
    pending.detach();
    if (generation.pending.size === 0) ref(generation, false);
    // Events and the caller's continuation see the caller's async context (AsyncLocalStorage).
    pending.scope.runInAsyncScope(() => this.#finish(pending, reply));
    pending.scope.emitDestroy();
  }

  #finish(pending: Pending, reply: HelperReply): void {
    const { spec, argv } = pending;
    const durationMs = performance.now() - pending.started;
    const exitCode = reply.exitCode ?? undefined;
    const failed = reply.exitCode !== 0 || reply.spawnError !== null;
    const netns = formatNetns(spec.netns ?? { kind: 'host' });
    if (!failed) {
      this.#events?.emit('command:exec', { argv, netns, durationMs, exitCode, failed: false });
      pending.resolve({ stdout: reply.stdout, stderr: reply.stderr, exitCode: 0, durationMs });
      return;
    }
    const error = classifyFailure(spec, argv, {
      stderr: reply.stderr,
      exitCode,
      timedOut: reply.timedOut,
      aborted: reply.canceled,
      spawnError: reply.spawnError ?? undefined,
    });
    this.#events?.emit('command:exec', execEvent(argv, netns, durationMs, exitCode, expectedAnswer(spec, error)));
    pending.reject(error);
  }
}

/** Keeps the SDK's process alive only while a command is in flight. */
function ref(generation: Generation, busy: boolean): void {
  const helper = generation.process;
  for (const handle of [helper, helper.stdin, helper.stdout] as { ref(): void; unref(): void }[]) {
    if (busy) handle.ref();
    else handle.unref();
  }
}

/** A reply line, or `undefined` for anything else (the helper writes nothing else; better safe). */
function parseReply(line: string): HelperReply | undefined {
  try {
    const reply = JSON.parse(line) as Partial<HelperReply> | null;
    return typeof reply?.id === 'number' ? (reply as HelperReply) : undefined;
  } catch {
    return undefined;
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
