import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Child processes cannot load TypeScript on Node 20, so they import the built
 * modules. Fails (never skips) when one is missing or older than its source.
 */
export function requireBuilt(...modules: string[]): void {
  for (const name of modules) {
    const dist = fileURLToPath(new URL(`../../dist/${name}.js`, import.meta.url));
    const src = fileURLToPath(new URL(`../../src/${name}.ts`, import.meta.url));
    if (!existsSync(dist)) throw new Error(`${dist} is missing: run \`pnpm build\` first (child processes load the built module)`);
    if (statSync(dist).mtimeMs < statSync(src).mtimeMs) throw new Error(`${dist} is older than ${src}: run \`pnpm build\``);
  }
}

const running = new Set<ChildProcess>();

/** Kills (by PID, with SIGKILL) every child started by {@link runTogether} that is still running. */
export function killChildren(): void {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  running.clear();
}

/**
 * Starts one `node SCRIPT ...args` per entry of `argsPerChild`, waits until
 * every child printed `ready`, then closes their standard input at once, the
 * signal to start, so they really run concurrently. Resolves with each
 * child's standard output once all exited 0; rejects with a child's stderr
 * otherwise.
 */
export async function runTogether(script: string, argsPerChild: readonly string[][]): Promise<string[]> {
  const started = argsPerChild.map((args) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const ready = new Promise<void>((resolve) => child.stdout?.on('data', () => stdout.includes('ready') && resolve()));
    const done = new Promise<string>((resolve, reject) =>
      child.once('exit', (code) => {
        running.delete(child);
        if (code === 0) resolve(stdout);
        else reject(new Error(`child exited ${code}: ${stderr}`));
      }),
    );
    return { child, ready: Promise.race([ready, done]), done };
  });
  await Promise.all(started.map((s) => s.ready));
  for (const { child } of started) child.stdin?.end();
  return Promise.all(started.map((s) => s.done));
}
