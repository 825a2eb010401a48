/**
 * The helper process behind {@link HelperRunner}: a small Node process that
 * starts commands on the SDK's behalf. Starting a process gets slower the
 * more memory the process that starts it holds (measured here: 1.4 ms for a
 * bare spawn from a small Node process, 60–65 ms from one with 2 GiB
 * resident), so a runtime with a large heap pays the small price. It imports
 * nothing but Node's own modules.
 *
 * Protocol, one JSON object per line: on standard input, a
 * {@link HelperRequest} starts a command and `{ "id": N, "cancel": true }`
 * ends it; on standard output, one {@link HelperReply} per request and
 * nothing else. Standard input closing ends the helper once its commands
 * have finished.
 *
 * Commands get the helper's environment (the SDK's, which started it) with
 * `LC_ALL=C`; a timeout or a cancel sends SIGTERM, then SIGKILL 5 s later;
 * output beyond 100 MB on either stream ends the command. These are
 * ExecaRunner's (execa's) rules too.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

/** A command for the helper to start: the full argument vector, already checked by the SDK. */
export interface HelperRequest {
  /** The request number; the reply carries it back. */
  readonly id: number;
  /** The absolute path of the program. */
  readonly file: string;
  /** Its arguments. */
  readonly args: readonly string[];
  /** Standard input; `null` for none (the child's stdin is then closed at once). */
  readonly input: string | null;
  /** End the command after this many milliseconds. */
  readonly timeoutMs: number;
}

/** How a command ended. */
export interface HelperReply {
  /** The request's number. */
  readonly id: number;
  /** The exit status; `null` when a signal ended it or it never started. */
  readonly exitCode: number | null;
  /** Everything it wrote on standard output (up to the cap). */
  readonly stdout: string;
  /** Everything it wrote on standard error (up to the cap). */
  readonly stderr: string;
  /** Whether the helper ended it for running past `timeoutMs`. */
  readonly timedOut: boolean;
  /** Whether a cancel request ended it. */
  readonly canceled: boolean;
  /** Why it could not be started (`spawn ENOENT`, …) or was ended (output over the cap), or `null`. */
  readonly spawnError: string | null;
}

/** Output beyond this on either stream ends the command, as execa's default `maxBuffer` does. */
export const HELPER_MAX_OUTPUT = 100 * 1024 * 1024;
/** How long after SIGTERM a command that is still running gets SIGKILL (execa's default). */
const FORCE_KILL_AFTER_MS = 5000;

interface Running {
  readonly child: ChildProcess;
  canceled: boolean;
  end(): void;
}

/** Runs the helper's loop on this process's standard input and output. */
export function serveHelper(): void {
  const running = new Map<number, Running>();
  const reply = (message: HelperReply) => process.stdout.write(`${JSON.stringify(message)}\n`);

  const start = (request: HelperRequest) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let spawnError: string | null = null;
    let child: ChildProcess;
    try {
      child = spawn(request.file, [...request.args], {
        stdio: [request.input === null ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        env: { ...process.env, LC_ALL: 'C' },
      });
    } catch (error) {
      // A request spawn() refuses outright (a NUL byte in an argument): only this command fails.
      reply({ id: request.id, exitCode: null, stdout, stderr, timedOut, canceled: false, spawnError: String(error) });
      return;
    }
    let forceKill: NodeJS.Timeout | undefined;
    const end = () => {
      child.kill('SIGTERM');
      forceKill ??= setTimeout(() => child.kill('SIGKILL'), FORCE_KILL_AFTER_MS);
    };
    const entry: Running = { child, canceled: false, end };
    running.set(request.id, entry);
    const collect = (append: (chunk: string) => number) => (chunk: string) => {
      if (append(chunk) > HELPER_MAX_OUTPUT && spawnError === null) {
        spawnError = `output exceeded ${HELPER_MAX_OUTPUT} bytes`;
        end();
      }
    };
    child.stdout?.setEncoding('utf8').on(
      'data',
      collect((chunk) => (stdout += chunk).length),
    );
    child.stderr?.setEncoding('utf8').on(
      'data',
      collect((chunk) => (stderr += chunk).length),
    );
    // A command that exits without reading its input must not take the helper down.
    child.stdin?.on('error', () => {});
    child.stdin?.end(request.input ?? undefined);
    const timer = setTimeout(() => {
      timedOut = true;
      end();
    }, request.timeoutMs);
    child.on('error', (error) => {
      spawnError ??= error.message;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(forceKill);
      running.delete(request.id);
      reply({ id: request.id, exitCode: code, stdout, stderr, timedOut, canceled: entry.canceled, spawnError });
    });
  };

  createInterface({ input: process.stdin }).on('line', (line) => {
    let message: HelperRequest | { id: number; cancel: true };
    try {
      message = JSON.parse(line) as HelperRequest | { id: number; cancel: true };
    } catch {
      return; // Not a request: nothing to answer.
    }
    if ('cancel' in message) {
      const entry = running.get(message.id);
      if (entry) {
        entry.canceled = true;
        entry.end();
      }
      return;
    }
    start(message);
  });
}

// Started as a program (`node spawn-helper.js`), not imported.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) serveHelper();
