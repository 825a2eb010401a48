import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawningStopped } from '../proc.js';

const running = new Set<ChildProcess>();

/** Ends every worker this process forked that is still running, by its PID (an interrupted run). */
export function killWorkers(): void {
  for (const child of running) {
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

/**
 * Forks `script` (a file of dist/, beside this folder) with --expose-gc so it
 * can read its own resident memory after a collection, hands it `params` as
 * JSON in argv, and resolves with the one message it sends back, or with an
 * error message: a worker's failure is reported, never thrown.
 */
export function runWorker<P, R>(script: string, params: P): Promise<R | string> {
  const file = fileURLToPath(new URL(`../${script}`, import.meta.url));
  if (spawningStopped()) return Promise.resolve(`${script} not started: the run is stopping`);
  return new Promise((resolve) => {
    const child = fork(file, [JSON.stringify(params)], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    running.add(child);
    let answered = false;
    child.on('message', (message: { ok: boolean; result?: R; error?: string }) => {
      answered = true;
      resolve(message.ok && message.result !== undefined ? message.result : `${script} failed: ${message.error ?? 'no result'}`);
    });
    child.on('exit', (code, signal) => {
      running.delete(child);
      if (!answered) resolve(`${script} exited (${signal ?? code}) without a result`);
    });
  });
}

/** The worker side: runs `work` on the params of argv and sends its result (or its failure) to the parent. */
export function serveWorker<P, R>(work: (params: P) => Promise<R>, describe: (error: unknown) => string): void {
  const params = JSON.parse(process.argv[2] ?? '{}') as P;
  // A parent that is gone (killed) cannot clean up after us, nor read us: stop.
  process.on('disconnect', () => process.exit(1));
  work(params).then(
    (result) => process.send?.({ ok: true, result }, () => process.exit(0)),
    (error: unknown) => process.send?.({ ok: false, error: describe(error) }, () => process.exit(0)),
  );
}
