/**
 * The helper process behind {@link HelperRunner}: a small Node process that
 * starts commands on the SDK's behalf. Starting a process costs about 1.6 ms
 * from a process this small, and 60–80 ms from one with 2 GiB resident (the
 * kernel copies the parent's page tables on fork), so a runtime with a large
 * heap pays the small price. It imports nothing but Node's own modules.
 *
 * Protocol, one JSON object per line: on standard input, a
 * {@link HelperRequest} starts a command and `{ "id": N, "cancel": true }`
 * kills it; on standard output, one {@link HelperReply} per request. Standard
 * input closing ends the helper once its commands have finished.
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
  /** Kill the command with SIGKILL after this many milliseconds. */
  readonly timeoutMs: number;
}

/** How a command ended. */
export interface HelperReply {
  /** The request's number. */
  readonly id: number;
  /** The exit status; `null` when a signal ended it or it never started. */
  readonly exitCode: number | null;
  /** Everything it wrote on standard output. */
  readonly stdout: string;
  /** Everything it wrote on standard error. */
  readonly stderr: string;
  /** Whether the helper killed it for running past `timeoutMs`. */
  readonly timedOut: boolean;
  /** Whether a cancel request killed it. */
  readonly canceled: boolean;
  /** Why it could not be started (`spawn ENOENT`, …), or `null`. */
  readonly spawnError: string | null;
}

interface Running {
  readonly child: ChildProcess;
  canceled: boolean;
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
    const child = spawn(request.file, [...request.args], {
      stdio: [request.input === null ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: { LC_ALL: 'C' },
    });
    const entry: Running = { child, canceled: false };
    running.set(request.id, entry);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // A command that exits without reading its input must not take the helper down.
    child.stdin?.on('error', () => {});
    child.stdin?.end(request.input ?? undefined);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, request.timeoutMs);
    child.on('error', (error) => {
      spawnError = error.message;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      running.delete(request.id);
      reply({ id: request.id, exitCode: code, stdout, stderr, timedOut, canceled: entry.canceled, spawnError });
    });
  };

  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() === '') return;
    const message = JSON.parse(line) as HelperRequest | { id: number; cancel: true };
    if ('cancel' in message) {
      const entry = running.get(message.id);
      if (entry) {
        entry.canceled = true;
        entry.child.kill('SIGKILL');
      }
      return;
    }
    start(message);
  });
}

// Started as a program (`node spawn-helper.js`), not imported.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) serveHelper();
