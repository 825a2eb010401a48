import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finish, printed, start, type Result } from './cli.js';

/**
 * Set to `1` to run the CLI's integration tests through a daemon: each
 * world (support/world.ts) then starts its own `netmode daemon` and every
 * command it runs talks to it through `-H`.
 */
export const THROUGH_DAEMON = process.env['NETMODE_TEST_THROUGH_DAEMON'] === '1';

/** A `netmode daemon` the test started, on a unix socket in a temporary directory. */
export interface TestDaemon {
  /** `unix:///tmp/netmode-daemon-XXXXXX/netmode.sock`. */
  readonly url: string;
  readonly child: ChildProcess;
  /** Resolves when it has ended, with what it printed. */
  readonly done: Promise<Result>;
  /** SIGTERM by its PID, then waits for its end (SIGKILL after `timeoutMs`); removes the socket's directory. */
  stop(timeoutMs?: number): Promise<Result>;
}

/** Starts `netmode SETTINGS… daemon -H unix://…` and waits until it listens. */
export async function startDaemon(settings: readonly string[]): Promise<TestDaemon> {
  const dir = await mkdtemp(join(tmpdir(), 'netmode-daemon-'));
  const url = `unix://${join(dir, 'netmode.sock')}`;
  const child = start([...settings, 'daemon', '-H', url]);
  const done = finish(child, 600_000);
  const stop = async (timeoutMs = 30_000) => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const result = await done;
    clearTimeout(timer);
    await rm(dir, { recursive: true, force: true });
    return result;
  };
  try {
    await Promise.race([
      printed(child, 'listening on', 30_000),
      done.then((r) => Promise.reject(new Error(`netmode daemon exited ${r.code}: ${r.stderr}`))),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, child, done, stop };
}
