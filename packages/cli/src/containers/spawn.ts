import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { constants as os } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';
import { CliError, CliErrorCode, ExitCode } from '../cli-error.js';
import { READY, SETUP_FD } from './isolation.js';

/**
 * Checks, before anything is created, that `command` can be started the way
 * `nsenter` will start it (execvp: a name is looked up in PATH, a path is
 * taken as it is). Throws ERR_COMMAND_NOT_FOUND (exit 127) or
 * ERR_COMMAND_NOT_EXECUTABLE (exit 126), as Docker does.
 */
export function assertRunnable(command: string, path = process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin'): void {
  const candidates = command.includes('/')
    ? [command]
    : path
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, command));
  let sawFile = false;
  for (const candidate of candidates) {
    try {
      if (!statSync(candidate).isFile()) continue;
    } catch {
      continue;
    }
    sawFile = true;
    try {
      accessSync(candidate, constants.X_OK);
      return;
    } catch {
      // Present but not executable: try the rest of PATH, as execvp does.
    }
  }
  if (sawFile) {
    throw new CliError(CliErrorCode.COMMAND_NOT_EXECUTABLE, `${command}: permission denied (not executable)`, ExitCode.CANNOT_INVOKE);
  }
  throw new CliError(
    CliErrorCode.COMMAND_NOT_FOUND,
    `${command}: ${command.includes('/') ? 'no such file' : 'not found in PATH'}`,
    ExitCode.NOT_FOUND,
  );
}

/** The exit status a shell reports for a child that ended with `code` or by `signal`. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (os.signals[signal] ?? 0) : 0);
}

const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/**
 * Takes over the signals a foreground `run` or `exec` receives, from before
 * the container's process exists until it ends: while netmode is still
 * connecting, a signal is remembered (the caller disconnects and gives up);
 * once the process runs, each signal is passed on to it, as Docker's
 * sig-proxy does, so that netmode outlives it and can disconnect.
 *
 * On a terminal, SIGINT and SIGQUIT from the keyboard already reach the
 * process (it is in the terminal's foreground process group), so they are
 * not sent twice.
 */
export class SignalRelay {
  #child: ChildProcess | undefined;
  #received: NodeJS.Signals | undefined;
  readonly #handlers = new Map<NodeJS.Signals, () => void>();

  constructor() {
    for (const signal of FORWARDED) {
      const handler = () => this.#on(signal);
      this.#handlers.set(signal, handler);
      process.on(signal, handler);
    }
  }

  /** The first signal received before a process was attached, if any. */
  get received(): NodeJS.Signals | undefined {
    return this.#received;
  }

  attach(child: ChildProcess): void {
    this.#child = child;
    // A signal that came while the process was being started is its too.
    if (this.#received) child.kill(this.#received);
  }

  close(): void {
    for (const [signal, handler] of this.#handlers) process.off(signal, handler);
    this.#handlers.clear();
  }

  #on(signal: NodeJS.Signals): void {
    const child = this.#child;
    if (!child) {
      if (signal !== 'SIGWINCH') this.#received ??= signal;
      return;
    }
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (process.stdin.isTTY && (signal === 'SIGINT' || signal === 'SIGQUIT')) return;
    child.kill(signal);
  }
}

/** What a process that ran to its end left. */
export interface Finished {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * How a container's setup (see `isolation.ts`) reports on its pipe: resolves
 * once it said it is ready, the moment before its shell becomes the
 * command; rejects with ERR_CONTAINER_SETUP, quoting what it wrote, when
 * the pipe closes without that (the setup failed and exits 125, or the
 * process died).
 */
function setupDone(child: ChildProcess): Promise<void> {
  const pipe = child.stdio[SETUP_FD] as Readable;
  return new Promise((resolve, reject) => {
    let text = '';
    pipe.on('data', (d: Buffer) => (text += d.toString()));
    pipe.once('error', () => {});
    pipe.once('close', () => {
      const lines = text.trim().split('\n');
      if (lines.at(-1) === READY) return resolve();
      const why = lines.filter(Boolean).join('; ') || 'it ended without saying why';
      reject(new CliError(CliErrorCode.CONTAINER_SETUP, `could not set up the container's namespaces: ${why}`, ExitCode.RUN_FAILED));
    });
  });
}

/**
 * Starts `argv` with the terminal's stdio (`inherit`) or captured
 * (`capture`), calls `onStart` with its PID, and resolves when it ends.
 * With `setup`, `argv` is a container's (see `isolation.ts`): `onStart` is
 * called once its setup is done, and a failed setup rejects with
 * ERR_CONTAINER_SETUP instead of resolving with the setup's exit status.
 */
export function runToEnd(
  argv: readonly string[],
  stdio: 'inherit' | 'capture',
  onStart: (child: ChildProcess) => void,
  env: NodeJS.ProcessEnv = process.env,
  setup = false,
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const streams: StdioOptions = stdio === 'inherit' ? ['inherit', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'];
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: setup ? [...streams, 'pipe'] : streams, env });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    // The setup's outcome: undefined when it is done, the error when it
    // failed. Its pipe closes before the child's 'close', but the outcome
    // is known only a microtask later, and 'close' can come in between
    // (it did on a loaded machine): 'close' waits for it.
    const setupFailure: Promise<unknown> = setup
      ? setupDone(child).then(
          () => onStart(child),
          (error: unknown) => error,
        )
      : Promise.resolve(undefined);
    if (!setup) child.once('spawn', () => onStart(child));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      void setupFailure.then((failed) => {
        if (failed !== undefined) reject(failed);
        else resolve({ exitCode: exitStatus(code, signal), stdout, stderr });
      });
    });
  });
}

/**
 * Starts `argv` in its own session, its output appended to the open file
 * `logFd`, and lets it go: netmode does not wait for it. Resolves with its
 * PID once it has started; with `setup` (a container's argv, see
 * `isolation.ts`), once its setup is done, or rejects with
 * ERR_CONTAINER_SETUP when that failed.
 */
export function startDetached(
  argv: readonly string[],
  logFd: number,
  env: NodeJS.ProcessEnv = process.env,
  setup = false,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const streams: StdioOptions = ['ignore', logFd, logFd];
    const child = spawn(argv[0] as string, argv.slice(1), { detached: true, stdio: setup ? [...streams, 'pipe'] : streams, env });
    child.once('error', reject);
    child.once('spawn', () => {
      const started = setup ? setupDone(child) : Promise.resolve();
      started.then(() => {
        child.unref();
        resolve(child.pid as number);
      }, reject);
    });
  });
}
