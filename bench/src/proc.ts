import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** What one process left behind, with its wall time from spawn to exit. */
export interface ProcResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
  readonly ms: number;
}

export interface ProcOptions {
  /** Written to standard input (a `-batch -` script, a CNI or netavark config). */
  readonly input?: string;
  /** The whole environment of the child; default: PATH and LC_ALL only. */
  readonly env?: NodeJS.ProcessEnv;
  /** Start it even after {@link stopSpawning} (the cleanup's own commands). */
  readonly evenWhenStopping?: boolean;
}

let stopping = false;

/**
 * After an interrupt no new process may start, or a workload still running
 * could create a namespace after the cleanup deleted them all. Runners of
 * netmode check {@link spawningStopped} too.
 */
export function stopSpawning(): void {
  stopping = true;
}

export function spawningStopped(): boolean {
  return stopping;
}

/** A plain environment, so peers and tools find each other and print untranslated messages. */
export const PLAIN_ENV: NodeJS.ProcessEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };

// Children alive right now: an interrupted run ends them by PID, and only them.
const live = new Set<ChildProcess>();

/**
 * Runs one process with `child_process.spawn` (the cheapest way Node has, so
 * the peers and the floor pay no wrapper cost netmode does not pay too) and
 * resolves whatever its exit status; see {@link mustRun} for the checked form.
 */
export function runProcess(argv: readonly string[], options: ProcOptions = {}): Promise<ProcResult> {
  const [file, ...args] = argv as [string, ...string[]];
  const started = performance.now();
  if (stopping && !options.evenWhenStopping) {
    return Promise.resolve({ stdout: '', stderr: 'not started: the run is stopping', code: null, ms: 0 });
  }
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      env: options.env ?? PLAIN_ENV,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (error) => {
      live.delete(child);
      resolve({ stdout, stderr: `${stderr}${error.message}`, code: null, ms: performance.now() - started });
    });
    child.on('close', (code) => {
      live.delete(child);
      resolve({ stdout, stderr, code, ms: performance.now() - started });
    });
    if (options.input !== undefined) {
      // A tool that exits before reading its input (a bad flag) must not crash the run with EPIPE.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(options.input);
    }
  });
}

/** A process left running (a container's `sleep`), ended by its PID. */
export interface RunningProcess {
  readonly pid: number;
  /** Whether it has not exited yet. */
  alive(): boolean;
  /** Ends it by its PID (SIGKILL) and waits until it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts a process and leaves it running; an interrupted run ends it with
 * the others ({@link killLiveChildren}). Resolves once it was started.
 */
export function startProcess(argv: readonly string[]): Promise<RunningProcess> {
  const [file, ...args] = argv as [string, ...string[]];
  if (stopping) return Promise.reject(new Error(`${file} not started: the run is stopping`));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: PLAIN_ENV, stdio: 'ignore' });
    live.add(child);
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    child.once('exit', () => live.delete(child));
    child.once('error', (error) => {
      live.delete(child);
      reject(error);
    });
    child.once('spawn', () => {
      const alive = () => child.exitCode === null && child.signalCode === null;
      resolve({
        pid: child.pid as number,
        alive,
        stop: async () => {
          if (!alive()) return;
          try {
            process.kill(child.pid as number, 'SIGKILL');
          } catch {
            // Already gone.
          }
          await exited;
        },
      });
    });
  });
}

/** A process left running that talks in lines: the DNS workload's resolver, load generator and watcher. */
export interface PipedProcess extends RunningProcess {
  /** Resolves with the next line it prints that starts with `prefix` (lines before it are dropped); rejects if it exits first or after `timeoutMs`. */
  line(prefix: string, timeoutMs?: number): Promise<string>;
  /** Writes one line to its standard input. */
  write(line: string): void;
}

/** Starts a process with piped standard input and output and leaves it running; ended by its PID like {@link startProcess}. */
export function startPiped(argv: readonly string[]): Promise<PipedProcess> {
  const [file, ...args] = argv as [string, ...string[]];
  if (stopping) return Promise.reject(new Error(`${file} not started: the run is stopping`));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: PLAIN_ENV, stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(child);
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    child.once('exit', () => live.delete(child));
    const lines: string[] = [];
    let partial = '';
    let stderr = '';
    let wake: (() => void) | undefined;
    let dropped = '';
    child.stdout?.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
      wake?.();
    });
    child.stderr?.on('data', (d: Buffer) => (stderr = `${stderr}${d.toString()}`.slice(-2000)));
    child.stdin?.on('error', () => undefined);
    child.once('exit', () => wake?.());
    const alive = () => child.exitCode === null && child.signalCode === null;
    child.once('error', (error) => {
      live.delete(child);
      reject(error);
    });
    child.once('spawn', () =>
      resolve({
        pid: child.pid as number,
        alive,
        write: (line) => void child.stdin?.write(`${line}\n`),
        line: (prefix, timeoutMs = 10_000) =>
          new Promise<string>((found, fail) => {
            const timer = setTimeout(() => {
              wake = undefined;
              fail(
                new Error(
                  `${args.at(-2) ?? file}: no line '${prefix}…' within ${timeoutMs} ms${dropped ? ` (last: ${dropped})` : ''}${stderr ? `; stderr: ${stderr.trim().split('\n').slice(-2).join(' / ')}` : ''}`,
                ),
              );
            }, timeoutMs);
            const look = () => {
              while (lines.length > 0) {
                const next = lines.shift() as string;
                dropped = next;
                if (next.startsWith(prefix)) {
                  clearTimeout(timer);
                  wake = undefined;
                  found(next);
                  return;
                }
              }
              if (!alive()) {
                clearTimeout(timer);
                wake = undefined;
                fail(
                  new Error(
                    `${file} exited (${String(child.exitCode ?? child.signalCode)}): ${stderr.trim().split('\n').slice(-2).join(' / ')}`,
                  ),
                );
              }
            };
            wake = look;
            look();
          }),
        stop: async () => {
          if (!alive()) return;
          try {
            process.kill(child.pid as number, 'SIGKILL');
          } catch {
            // Already gone.
          }
          await exited;
        },
      }),
    );
  });
}

// Daemons this run started that are not its children (aardvark-dns forks and
// its parent exits): ended by their PID with the children.
// Each with a word of its command line, so a PID reused meanwhile is left alone.
const daemons = new Map<number, string>();

/** Records a daemon's PID and a word of its command line, so an interrupted run ends it too. */
export function trackDaemon(pid: number, marker: string): void {
  daemons.set(pid, marker);
}

/** Forgets a daemon that was stopped. */
export function untrackDaemon(pid: number): void {
  daemons.delete(pid);
}

/** An exit status other than 0, with what the tool said. */
export class ProcError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: ProcResult,
  ) {
    super(`${argv.join(' ')} exited ${String(result.code)}: ${result.stderr.trim().split('\n').slice(-3).join(' / ')}`);
    this.name = 'ProcError';
  }
}

/** Runs one process and rejects with a {@link ProcError} unless it exits 0. */
export async function mustRun(argv: readonly string[], options: ProcOptions = {}): Promise<ProcResult> {
  const result = await runProcess(argv, options);
  if (result.code !== 0) throw new ProcError(argv, result);
  return result;
}

/** Sends SIGKILL to every child this module started that is still running, and to every tracked daemon, by its PID. */
export function killLiveChildren(): void {
  for (const [pid, marker] of daemons) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  daemons.clear();
  for (const child of live) {
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
