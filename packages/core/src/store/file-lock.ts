import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, open, readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, NetModeError } from '../errors.js';
import { createExclusive, exclusiveTempOwner, hasCode, readIfExists, unlinkIfExists } from './fs-utils.js';
import { parseProcStat } from './process-identity.js';

/** Options for {@link FileLock}. */
export interface FileLockOptions {
  /**
   * How long {@link FileLock.acquire} waits, in milliseconds, before it throws
   * {@link ErrorCode.LOCK_TIMEOUT}. The wait in the in-process queue counts.
   * Default 30000.
   */
  readonly timeoutMs?: number;
}

/** A lock this process holds, returned by {@link FileLock.acquire}. */
export interface HeldLock {
  /**
   * Releases the lock: removes the lock file if it still carries this
   * holder's token, then lets the next caller in this process go. Calling it
   * twice does nothing the second time.
   */
  release(): Promise<void>;
}

/** What the lock file says about its holder. */
interface LockRecord {
  readonly pid: number;
  /** Start time of `pid` in clock ticks since boot, field 22 of `/proc/PID/stat`. */
  readonly start: string;
  readonly token: string;
}

/** What one look at the lock file found. */
type Holder =
  | { readonly kind: 'gone' }
  | { readonly kind: 'alive'; readonly pid?: number }
  // `token` is undefined when the file was empty or unreadable (and old).
  | { readonly kind: 'stale'; readonly pid?: number; readonly token?: string };

const DEFAULT_TIMEOUT_MS = 30_000;
// A holder writes its record right after creating the file; a file that is
// still empty after this long belongs to a process killed in between.
const HALF_WRITTEN_GRACE_MS = 2_000;
// A breaker holds `lock.break` for a few syscalls; one this old was killed.
const STALE_BREAK_MS = 10_000;
const MAX_BACKOFF_MS = 25;

/**
 * An exclusive lock shared by every process that uses one directory: the file
 * `DIR/lock`, created with `O_EXCL` and holding `{pid, start, token}`.
 *
 * A lock whose holder died (even by SIGKILL) is recovered without help: a
 * waiter that finds the holder gone (no `/proc/PID/stat`, a zombie, or a
 * different start time because the pid was reused) removes the file, under a
 * second `O_EXCL` file `DIR/lock.break` so that two breakers cannot both
 * remove it and the second one delete a fresh lock.
 *
 * A `DIR/lock` that is not a regular file (a symbolic link, even to a file;
 * a directory; a FIFO) was not made by a FileLock, so nobody holds it:
 * {@link FileLock.acquire} refuses it at once with ERR_STATE_CORRUPT rather
 * than wait on it or remove it.
 *
 * Assumptions: Linux with `/proc` mounted, and every user of one directory
 * shares one PID namespace, since liveness is judged by pid. The directory
 * must exist. Within one process, callers of every `FileLock` on the same
 * path queue in FIFO order before they touch the file, so they do not poll
 * each other.
 */
export class FileLock {
  /** The lock file, `DIR/lock`. */
  readonly path: string;
  readonly #breakPath: string;
  readonly #timeoutMs: number;

  /** @param dir - The directory that holds the lock file; it must exist. */
  constructor(dir: string, options: FileLockOptions = {}) {
    this.path = join(resolve(dir), 'lock');
    this.#breakPath = `${this.path}.break`;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * Waits until this caller holds the lock. Throws {@link ErrorCode.LOCK_TIMEOUT}
   * naming the lock path and the holder's pid when `timeoutMs` passes first,
   * and {@link ErrorCode.STATE_CORRUPT} at once when the lock path is not a
   * regular file. Once held, it removes the temporary files that processes
   * killed while taking the lock left in the directory.
   */
  async acquire(): Promise<HeldLock> {
    const deadline = Date.now() + this.#timeoutMs;
    const queue = queueFor(this.path);
    if (!(await queue.lock(this.#timeoutMs))) throw this.#timeout(process.pid);
    let token: string;
    try {
      token = await this.#acquireFile(deadline);
    } catch (error) {
      queue.unlock();
      throw error;
    }
    // Housekeeping: should it fail, the caller still gets the lock it holds.
    await this.#removeDeadTemps().catch(() => undefined);
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        try {
          await this.#releaseFile(token);
        } finally {
          queue.unlock();
        }
      },
    };
  }

  async #acquireFile(deadline: number): Promise<string> {
    const record: LockRecord = { pid: process.pid, start: await ownStartTime(), token: randomBytes(16).toString('hex') };
    const text = JSON.stringify(record);
    let backoff = 1;
    for (;;) {
      if (await createExclusive(this.path, text)) return record.token;
      const holder = await inspect(this.path);
      // Worth another try soon, but every round checks the deadline and
      // sleeps: a lock path that keeps failing the same way cannot spin.
      if (holder.kind === 'gone' || (holder.kind === 'stale' && (await this.#break(holder)))) backoff = 1;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw this.#timeout(holder.kind === 'gone' ? undefined : holder.pid);
      // Jitter keeps waiters in several processes from retrying in lockstep.
      await sleep(Math.min(remaining, backoff * (0.5 + Math.random())));
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  /**
   * Removes a lock judged stale, unless it changed meanwhile. Returns whether
   * it is worth retrying soon; false while another breaker is at work.
   */
  async #break(judged: Holder & { kind: 'stale' }): Promise<boolean> {
    if (!(await createExclusive(this.#breakPath, String(process.pid)))) {
      return removeIfOlder(this.#breakPath, STALE_BREAK_MS);
    }
    try {
      // Another breaker may have removed the stale lock and a new holder
      // taken it between our look and now: judge again, same token only.
      const again = await inspect(this.path);
      if (again.kind === 'stale' && again.token === judged.token) await unlinkIfExists(this.path);
    } finally {
      await unlinkIfExists(this.#breakPath);
    }
    return true;
  }

  /**
   * Removes the private files of {@link createExclusive} whose creator is no
   * longer running: each process killed between writing and unlinking one
   * leaves one, and they would pile up. Called with the lock held, so one
   * process at a time pays for the directory listing.
   */
  async #removeDeadTemps(): Promise<void> {
    const dir = dirname(this.path);
    for (const name of await readdir(dir)) {
      const pid = exclusiveTempOwner(name, basename(this.path)) ?? exclusiveTempOwner(name, basename(this.#breakPath));
      if (pid !== undefined && (await running(pid)) === undefined) await unlinkIfExists(join(dir, name));
    }
  }

  async #releaseFile(token: string): Promise<void> {
    const record = parseRecord(await readIfExists(this.path));
    if (record?.token === token) await unlinkIfExists(this.path);
  }

  #timeout(holderPid: number | undefined): NetModeError {
    const holder = holderPid === undefined ? 'an unknown process' : `pid ${holderPid}${holderPid === process.pid ? ' (this process)' : ''}`;
    return new NetModeError(
      ErrorCode.LOCK_TIMEOUT,
      `state lock ${this.path} not acquired within ${this.#timeoutMs} ms: held by ${holder}`,
      { context: { lockPath: this.path, holderPid, timeoutMs: this.#timeoutMs } },
    );
  }
}

/** In-process FIFO queue per lock path, shared by every FileLock on that path. */
class FifoMutex {
  #held = false;
  readonly #waiters: (() => void)[] = [];

  /** Resolves true once this caller holds the mutex, false after `timeoutMs`. */
  lock(timeoutMs: number): Promise<boolean> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve(true);
    }
    return new Promise((resolvePromise) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolvePromise(true);
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(wake), 1);
        resolvePromise(false);
      }, timeoutMs);
      this.#waiters.push(wake);
    });
  }

  /** Hands the mutex straight to the next waiter, so nobody can jump the queue. */
  unlock(): void {
    const next = this.#waiters.shift();
    if (next === undefined) this.#held = false;
    else next();
  }
}

const queues = new Map<string, FifoMutex>();

function queueFor(path: string): FifoMutex {
  let queue = queues.get(path);
  if (queue === undefined) {
    queue = new FifoMutex();
    queues.set(path, queue);
  }
  return queue;
}

let ownStart: Promise<string> | undefined;

/**
 * This process's start time. Reading it first also proves `/proc` is ours:
 * without it every holder would look dead and every lock would be broken.
 */
function ownStartTime(): Promise<string> {
  ownStart ??= readFile(`/proc/${process.pid}/stat`, 'utf8').then((text) => {
    const parsed = parseProcStat(text);
    if (parsed === undefined) throw new Error(`cannot parse /proc/${process.pid}/stat: ${text}`);
    return parsed.startTime;
  });
  return ownStart;
}

/** The start time of `pid`, or undefined when it is not running. */
async function running(pid: number): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    // ESRCH: the process exited while we were reading.
    if (hasCode(error, 'ENOENT') || hasCode(error, 'ESRCH')) return undefined;
    throw error;
  }
  const parsed = parseProcStat(text);
  // A zombie was killed but not yet reaped: it will never act again.
  if (parsed === undefined || parsed.state === 'Z' || parsed.state === 'X') return undefined;
  return parsed.startTime;
}

async function isAlive(record: LockRecord): Promise<boolean> {
  return (await running(record.pid)) === record.start;
}

async function inspect(path: string): Promise<Holder> {
  let handle;
  try {
    // Not through a symbolic link (ELOOP), and without blocking on a FIFO.
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return { kind: 'gone' };
    // ENXIO: a socket.
    if (hasCode(error, 'ELOOP') || hasCode(error, 'ENXIO')) throw await notALockFile(path, error);
    throw error;
  }
  let text: string;
  let mtimeMs: number;
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw await notALockFile(path, undefined);
    mtimeMs = stats.mtimeMs;
    text = await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
  const record = parseRecord(text);
  if (record === undefined) {
    // Empty or half-written: its holder may be between open() and write().
    return Date.now() - mtimeMs < HALF_WRITTEN_GRACE_MS ? { kind: 'alive' } : { kind: 'stale' };
  }
  return (await isAlive(record)) ? { kind: 'alive', pid: record.pid } : { kind: 'stale', pid: record.pid, token: record.token };
}

function parseRecord(text: string | undefined): LockRecord | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, start, token } = value as Partial<Record<keyof LockRecord, unknown>>;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (typeof start !== 'string' || typeof token !== 'string' || token === '') return undefined;
  return { pid, start, token };
}

/**
 * The error for a lock path that is not a regular file. No FileLock made it
 * and nobody holds it, so waiting would never end, and removing what a human
 * put there is not ours to do.
 */
async function notALockFile(path: string, cause: unknown): Promise<NetModeError> {
  const stats = await lstat(path).catch(() => undefined);
  return new NetModeError(
    ErrorCode.STATE_CORRUPT,
    `state lock ${path} is ${stats ? kindOf(stats) : 'not a regular file'}, which netmode never makes there, so no process holds it: remove it`,
    { cause, context: { path, lockPath: path } },
  );
}

function kindOf(stats: Stats): string {
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isBlockDevice() || stats.isCharacterDevice()) return 'a device';
  // It changed again since we looked.
  return 'not a regular file';
}

async function removeIfOlder(path: string, ageMs: number): Promise<boolean> {
  try {
    // lstat: a dangling symbolic link must age and go like a file, not look gone forever.
    if (Date.now() - (await lstat(path)).mtimeMs < ageMs) return false;
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return true;
    throw error;
  }
  await unlinkIfExists(path);
  return true;
}
