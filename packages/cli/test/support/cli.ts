import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The built `netmode` binary: the tests drive it, never the sources. */
export const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));
/** The probe script the binary ships. */
export const PROBE = fileURLToPath(new URL('../../dist/demo/probe.js', import.meta.url));

/** Throws (the test fails, it is not skipped) when the binary has not been built. */
export function assertBuilt(): void {
  if (!existsSync(BIN) || !existsSync(PROBE)) {
    throw new Error(`${BIN} is missing: run \`pnpm build\` (or \`pnpm exec tsc -b packages/cli\`) before these tests`);
  }
}

/** What one `netmode` invocation left. */
export interface Result {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link netmode}. */
export interface RunOptions {
  /** Extra environment variables (NETMODE_* ones are cleared unless given here). */
  readonly env?: Record<string, string>;
  /** Kill it after this many ms (default 30 000). */
  readonly timeoutMs?: number;
}

function environment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('NETMODE_')) env[key] = value;
  return { ...env, ...extra };
}

/** Starts `node dist/bin.js ARGS` and returns the child, for tests that signal it. */
export function start(args: readonly string[], options: RunOptions = {}): ChildProcess {
  assertBuilt();
  return spawn(process.execPath, [BIN, ...args], { env: environment(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Waits for a started `netmode` to end. */
export function finish(child: ChildProcess, timeoutMs = 30_000): Promise<Result> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs `node dist/bin.js ARGS` to its end. */
export function netmode(args: readonly string[], options: RunOptions = {}): Promise<Result> {
  return finish(start(args, options), options.timeoutMs);
}

/** Resolves once `child` printed `text` on stdout. */
export function printed(child: ChildProcess, text: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`did not print ${JSON.stringify(text)}; printed ${JSON.stringify(seen)}`)), timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** Polls `test` every 50 ms until it holds, for at most `ms`; resolves with whether it did. */
export async function eventually(test: () => Promise<boolean> | boolean, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}
