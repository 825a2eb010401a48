import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, type NetModeError } from '../../src/errors.js';
import { FileLock } from '../../src/store/file-lock.js';
import { requireBuilt } from '../support/children.js';
import { parseProcStat } from '../../src/store/process-identity.js';

const HOLD_LOCK = fileURLToPath(new URL('./fixtures/hold-lock.mjs', import.meta.url));
const STOP_IN_LOCK_TEMP = fileURLToPath(new URL('./fixtures/stop-in-lock-temp.mjs', import.meta.url));
// Far above any pid_max (at most 2^22), so never a live process.
const DEAD_PID = 999_999_999;

let dirs: string[] = [];
let children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children = [];
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  dirs = [];
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'netmode-test-'));
  dirs.push(dir);
  return dir;
}

/** Resolves with the first stdout line of `child` that starts with `prefix`; rejects if it exits first. */
function lineStartingWith(child: ChildProcess, prefix: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      if (line.startsWith(prefix)) resolve(line);
    });
    child.once('exit', (code, signal) => reject(new Error(`child exited (${code ?? signal}) before "${prefix}": ${stderr}`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function expectTimeout(lock: FileLock, holderPid: number | undefined): Promise<NetModeError> {
  const error = (await lock.acquire().then(
    () => expect.fail('acquire() should have timed out'),
    (e: unknown) => e,
  )) as NetModeError;
  expect(error.code).toBe(ErrorCode.LOCK_TIMEOUT);
  expect(error.message).toContain(lock.path);
  expect(error.context).toMatchObject({ lockPath: lock.path, holderPid });
  if (holderPid !== undefined) expect(error.message).toContain(`pid ${holderPid}`);
  return error;
}

/** Fields 3 and 22 of /proc/PID/stat, read independently of parseProcStat: `.*` runs to the last `) `. */
async function procStat(pid: number): Promise<{ state: string; start: string }> {
  const match = /^\d+ \(.*\) (\S+)(?: \S+){18} (\d+) /s.exec(await readFile(`/proc/${pid}/stat`, 'utf8'));
  if (match?.[1] === undefined || match[2] === undefined) throw new Error(`cannot parse /proc/${pid}/stat`);
  return { state: match[1], start: match[2] };
}

const startTimeOf = async (pid: number): Promise<string> => (await procStat(pid)).start;
const ownStart = (): Promise<string> => startTimeOf(process.pid);

describe('parseProcStat', () => {
  it('counts fields from the last parenthesis, whatever the command name holds', () => {
    const rest = Array.from({ length: 50 }, (_, i) => String(i + 4)).join(' ');
    // Fields 4.. are their own field numbers, so field 22 reads "22".
    expect(parseProcStat(`1234 (a) b (c d) S ${rest}\n`)).toEqual({ state: 'S', startTime: '22' });
    expect(parseProcStat('garbage')).toBeUndefined();
  });
});

describe('FileLock', () => {
  it('creates DIR/lock with mode 0600 naming this process, and removes it on release', async () => {
    const dir = await tempDir();
    const lock = new FileLock(dir);
    const held = await lock.acquire();
    const record = JSON.parse(await readFile(join(dir, 'lock'), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ pid: process.pid, start: await ownStart() });
    expect(record['token']).toMatch(/^[0-9a-f]{32}$/);
    expect(statSync(join(dir, 'lock')).mode & 0o777).toBe(0o600);
    await held.release();
    expect(existsSync(join(dir, 'lock'))).toBe(false);
  });

  it('queues callers in one process in FIFO order', async () => {
    const dir = await tempDir();
    const first = await new FileLock(dir).acquire();
    const order: string[] = [];
    const waiters = ['b', 'c', 'd', 'e'].map((name) =>
      withLock(new FileLock(dir), async () => {
        order.push(name);
      }),
    );
    await first.release();
    await Promise.all(waiters);
    expect(order).toEqual(['b', 'c', 'd', 'e']);
  });

  it('times out with ERR_LOCK_TIMEOUT naming the path and this process as holder', async () => {
    const dir = await tempDir();
    const held = await new FileLock(dir).acquire();
    await expectTimeout(new FileLock(dir, { timeoutMs: 100 }), process.pid);
    await held.release();
    await withLock(new FileLock(dir, { timeoutMs: 1000 }), async () => undefined);
  });

  it('on release leaves a lock file alone that no longer carries its token', async () => {
    const dir = await tempDir();
    const held = await new FileLock(dir).acquire();
    const other = JSON.stringify({ pid: process.pid, start: await ownStart(), token: 'someone-else' });
    await writeFile(join(dir, 'lock'), other);
    await held.release();
    expect(await readFile(join(dir, 'lock'), 'utf8')).toBe(other);
  });

  it('breaks a lock whose pid does not exist', async () => {
    const dir = await tempDir();
    // Far above any pid_max (at most 2^22), so never a live process.
    await writeFile(join(dir, 'lock'), JSON.stringify({ pid: 999_999_999, start: '1', token: 'dead' }));
    const lock = new FileLock(dir, { timeoutMs: 5000 });
    await withLock(lock, async () => {
      const record = JSON.parse(await readFile(lock.path, 'utf8')) as { pid: number };
      expect(record.pid).toBe(process.pid);
    });
  });

  it('breaks a lock whose pid was reused by another process (start time differs)', async () => {
    const dir = await tempDir();
    const recycled = String(Number(await ownStart()) + 1);
    await writeFile(join(dir, 'lock'), JSON.stringify({ pid: process.pid, start: recycled, token: 'old' }));
    await withLock(new FileLock(dir, { timeoutMs: 5000 }), async () => undefined);
  });

  it('waits on a fresh empty lock file (holder between open and write), breaks an old one', async () => {
    const dir = await tempDir();
    const path = join(dir, 'lock');
    await writeFile(path, '');
    await expectTimeout(new FileLock(dir, { timeoutMs: 200 }), undefined);
    const old = new Date(Date.now() - 5000);
    await utimes(path, old, old);
    await withLock(new FileLock(dir, { timeoutMs: 5000 }), async () => undefined);
  });

  it('leaves breaking to a breaker holding lock.break, unless lock.break is older than 10 s', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'lock'), JSON.stringify({ pid: 999_999_999, start: '1', token: 'dead' }));
    const breakPath = join(dir, 'lock.break');
    await writeFile(breakPath, '');
    await expectTimeout(new FileLock(dir, { timeoutMs: 200 }), 999_999_999);
    const old = new Date(Date.now() - 20_000);
    await utimes(breakPath, old, old);
    await withLock(new FileLock(dir, { timeoutMs: 5000 }), async () => undefined);
    expect(existsSync(breakPath)).toBe(false);
  });

  it('recovers a lock whose holder was killed with SIGKILL', { timeout: 30_000 }, async () => {
    requireBuilt('store/file-lock', 'store/process-identity');
    const dir = await tempDir();
    // A command name with spaces and parentheses, which the holder's record
    // and the liveness check must both read past.
    const child = spawn(process.execPath, [HOLD_LOCK, dir, 'x) (y z'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    await lineStartingWith(child, 'held ');
    const pid = child.pid as number;
    const record = JSON.parse(await readFile(join(dir, 'lock'), 'utf8')) as unknown;
    expect(record).toEqual({ pid, start: await startTimeOf(pid), token: expect.any(String) });
    await expectTimeout(new FileLock(dir, { timeoutMs: 300 }), pid);

    process.kill(pid, 'SIGKILL');
    await exited(child);
    const lock = new FileLock(dir, { timeoutMs: 10_000 });
    await withLock(lock, async () => {
      const record = JSON.parse(await readFile(lock.path, 'utf8')) as { pid: number };
      expect(record.pid).toBe(process.pid);
    });
  });

  it('recovers a lock whose killed holder is a zombie nobody reaped', { timeout: 30_000 }, async () => {
    requireBuilt('store/file-lock', 'store/process-identity');
    const dir = await tempDir();
    // sh starts the holder, then becomes `sleep`, which never reaps it.
    const script = `"$0" "$1" "$2" & exec sleep 60`;
    const parent = spawn('sh', ['-c', script, process.execPath, HOLD_LOCK, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(parent);
    const pid = Number((await lineStartingWith(parent, 'held ')).slice('held '.length));
    await expectTimeout(new FileLock(dir, { timeoutMs: 300 }), pid);

    process.kill(pid, 'SIGKILL');
    for (;;) {
      if ((await procStat(pid)).state === 'Z') break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await withLock(new FileLock(dir, { timeoutMs: 10_000 }), async () => undefined);
  });

  // Each makes something at DIR/lock that no FileLock made.
  const NOT_A_FILE: [string, (lock: string, dir: string) => Promise<void>][] = [
    ['a dangling symbolic link', (lock, dir) => symlink(join(dir, 'nowhere'), lock)],
    [
      'a symbolic link to a file',
      async (lock, dir) => {
        await writeFile(join(dir, 'target'), JSON.stringify({ pid: DEAD_PID, start: '1', token: 'dead' }));
        await symlink(join(dir, 'target'), lock);
      },
    ],
    ['a symbolic link to a directory', (lock, dir) => symlink(dir, lock)],
    ['a directory', (lock) => mkdir(lock)],
    ['a FIFO', async (lock) => void execFileSync('mkfifo', [lock])],
  ];

  it.each(NOT_A_FILE)('refuses %s as the lock with ERR_STATE_CORRUPT naming it, and leaves it', async (_what, make) => {
    const dir = await tempDir();
    const lock = new FileLock(dir, { timeoutMs: 2000 });
    await make(lock.path, dir);
    const error = (await lock.acquire().then(
      () => expect.fail('acquire() should have refused the lock path'),
      (e: unknown) => e,
    )) as NetModeError;
    // Not ERR_LOCK_TIMEOUT: refused at once, not waited on.
    expect(error.code).toBe(ErrorCode.STATE_CORRUPT);
    expect(error.message).toContain(lock.path);
    expect(error.message).toContain('remove it');
    expect(error.context).toMatchObject({ path: lock.path });
    expect(lstatSync(lock.path).isFile()).toBe(false);
  });

  it('removes the temporary files of dead processes once it holds the lock, and only those', async () => {
    const dir = await tempDir();
    const dead = [`lock.${DEAD_PID}.0123abcd.tmp`, `lock.break.${DEAD_PID}.0123abcd.tmp`];
    // pid 1 never exits: its file may be in use. The others are not createExclusive's.
    const kept = ['lock.1.0123abcd.tmp', `lock.${DEAD_PID}.tmp`, `lockx.${DEAD_PID}.0123abcd.tmp`, 'notes'];
    for (const name of [...dead, ...kept]) await writeFile(join(dir, name), '');
    await withLock(new FileLock(dir), async () => undefined);
    expect((await readdir(dir)).sort()).toEqual(kept.sort());
  });

  it('leaves no temporary file of a process killed while it held one, after the next acquire', { timeout: 30_000 }, async () => {
    requireBuilt('store/file-lock', 'store/fs-utils', 'store/process-identity');
    const dir = await tempDir();
    const child = spawn(process.execPath, [STOP_IN_LOCK_TEMP, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const temp = (await lineStartingWith(child, 'temp ')).slice('temp '.length);
    expect(temp).toBe(join(dir, `lock.${child.pid}.${temp.split('.').at(-2)}.tmp`));
    expect(existsSync(temp)).toBe(true);

    process.kill(child.pid as number, 'SIGKILL');
    await exited(child);
    await withLock(new FileLock(dir, { timeoutMs: 10_000 }), async () => undefined);
    expect(await readdir(dir)).toEqual([]);
  });
});

/** Runs `fn` while holding `lock`, releasing it afterwards also when `fn` throws. */
async function withLock<T>(lock: FileLock, fn: () => Promise<T>): Promise<T> {
  const held = await lock.acquire();
  try {
    return await fn();
  } finally {
    await held.release();
  }
}
