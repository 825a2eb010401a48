import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rename, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ErrorCode, errorMessage, NetModeError } from '../errors.js';
import { FileLock } from './file-lock.js';
import { hasCode, unlinkIfExists } from './fs-utils.js';
import { UnreadableRecord, assertStateKey, type StateEntry, type StateStore, type StateTransaction } from './state-store.js';

/** Options for {@link FileStateStore}. */
export interface FileStateStoreOptions {
  /**
   * How long a transaction waits for the state lock, in milliseconds, before
   * it throws {@link ErrorCode.LOCK_TIMEOUT}. Default 30000.
   */
  readonly lockTimeoutMs?: number;
  /**
   * Whether a commit fsyncs the files and directories it changed, so that it
   * survives a power loss and not only a killed process. Default true; turn
   * it off for state on tmpfs (`/run`) or in tests.
   */
  readonly durable?: boolean;
}

/** One change of a commit: the JSON text to store at `key`, or undefined to delete it. */
interface Change {
  readonly key: string;
  readonly text: string | undefined;
}

/**
 * The default {@link StateStore}: one JSON file per record under a state
 * directory (key `a/b` is `DIR/a/b.json`), guarded by the lock file
 * `DIR/lock`, which names its holder by PID and start time so that a lock
 * whose holder was killed is broken and taken over. Directories are made with
 * mode 0700 and files with 0600.
 *
 * A commit of one change is a rename of a fully written temporary file. A
 * commit of several first writes them all to `DIR/journal`, then applies them
 * and removes the journal; every transaction first replays a journal left by
 * a process killed half-way, so a commit lands entirely or not at all. Once
 * the journal is written the commit is decided: should applying it fail, the
 * transaction rejects and the next transaction completes it. Every file a
 * commit needs is written before that point, so a full disk fails a commit
 * before it counts, never half-way. The journal's name has no `.json` suffix
 * so that no key can map to it.
 *
 * File system errors become NetModeErrors that say what to do:
 * ERR_PERMISSION, ERR_NO_SPACE, ERR_STATE_DIR_UNUSABLE (not a directory, or
 * no files can be made in it), ERR_STATE_CORRUPT (something in the way
 * under it, or a lock that is not a regular file).
 *
 * Every process using one directory must share a PID namespace: the lock
 * tells a live holder from a dead one by its PID.
 */
export class FileStateStore implements StateStore {
  readonly #dir: string;
  readonly #journal: string;
  readonly #durable: boolean;
  readonly #lock: FileLock;

  /**
   * @param dir - The state directory; the first transaction creates it (and
   *   missing parents) with mode 0700. Reads of a missing directory find nothing.
   */
  constructor(dir: string, options: FileStateStoreOptions = {}) {
    this.#dir = resolve(dir);
    this.#journal = join(this.#dir, 'journal');
    this.#durable = options.durable ?? true;
    this.#lock = new FileLock(this.#dir, options.lockTimeoutMs === undefined ? {} : { timeoutMs: options.lockTimeoutMs });
  }

  /** The file that holds the record at `key`. */
  locate(key: string): string {
    return this.#pathOf(key);
  }

  async get<T>(key: string): Promise<T | undefined> {
    return this.#guard(() => this.#read<T>(key));
  }

  async list<T>(prefix: string): Promise<StateEntry<T>[]> {
    return this.#guard(async () => {
      const entries: StateEntry<T>[] = [];
      for (const key of await this.#keysUnder(prefix)) {
        const value = await this.#readListed<T>(key);
        // Without the lock a record may vanish between readdir and read.
        if (value !== undefined) entries.push({ key, value });
      }
      return entries;
    });
  }

  async transaction<T>(fn: (tx: StateTransaction) => Promise<T>): Promise<T> {
    const held = await this.#guard(async () => {
      await ensureDir(this.#dir);
      return this.#lock.acquire();
    });
    try {
      await this.#guard(() => this.#replayJournal());
      const pending = new Map<string, string | undefined>();
      // Not guarded: what `fn` throws is the caller's own error, whatever its
      // errno; its reads through the view are guarded one by one.
      const result = await fn(this.#view(pending));
      await this.#guard(() => this.#commit([...pending].map(([key, text]) => ({ key, text }))));
      return result;
    } finally {
      await this.#guard(() => held.release());
    }
  }

  /**
   * Runs `work`, turning the file system errors it throws into NetModeErrors
   * naming the state directory, so that no caller (the manager, a driver's
   * IPAM call, the CLI) sees a raw one and takes it for a bug.
   */
  async #guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof NetModeError) throw error;
      throw (await this.#explain(error)) ?? error;
    }
  }

  async #explain(error: unknown): Promise<NetModeError | undefined> {
    const { code, path = this.#dir } = (error ?? {}) as NodeJS.ErrnoException;
    const fail = (errorCode: ErrorCode, message: string, context: Record<string, unknown> = {}): NetModeError =>
      new NetModeError(errorCode, message, { cause: error, context: { stateDir: this.#dir, ...context } });
    switch (code) {
      case 'EACCES':
      case 'EPERM':
      case 'EROFS':
        return fail(
          ErrorCode.PERMISSION,
          `the state directory ${this.#dir} cannot be used: ${errorMessage(error)} (run as root, or pass a stateDir this process may write)`,
        );
      case 'ENOSPC':
      case 'EDQUOT':
        return fail(
          ErrorCode.NO_SPACE,
          `no space left for the state directory ${this.#dir}: ${errorMessage(error)}; nothing was committed`,
        );
      // A path that is the wrong kind of thing, or a file that cannot be made.
      case 'ENOTDIR':
      case 'EEXIST':
      case 'EISDIR':
      case 'ENOENT': {
        const unusable = (why: string): NetModeError =>
          fail(ErrorCode.STATE_DIR_UNUSABLE, `the state directory ${this.#dir} ${why}: ${errorMessage(error)}`);
        const dir = await stat(this.#dir).catch((statError: unknown) => statError as NodeJS.ErrnoException);
        if (dir instanceof Error)
          return unusable(hasCode(dir, 'ENOENT') ? 'was removed while in use' : 'lies under a file, not a directory');
        if (!dir.isDirectory()) return unusable('is not a directory');
        // The directory exists, yet a file could not be created in it.
        if (code === 'ENOENT') return unusable('does not take new files (is it on /proc or /sys?)');
        return fail(
          ErrorCode.STATE_CORRUPT,
          `${path} under the state directory is in the way: ${errorMessage(error)} (netmode did not make it so; inspect it and remove it)`,
          { path },
        );
      }
      default:
        return undefined;
    }
  }

  /** The transaction's view: the files on disk overlaid with its pending changes. */
  #view(pending: Map<string, string | undefined>): StateTransaction {
    return {
      locate: (key) => this.#pathOf(key),
      get: async <V>(key: string) => {
        assertStateKey(key);
        if (!pending.has(key)) return this.#guard(() => this.#read<V>(key));
        const text = pending.get(key);
        return text === undefined ? undefined : (JSON.parse(text) as V);
      },
      list: <V>(prefix: string) =>
        this.#guard(async () => {
          const keys = new Set(await this.#keysUnder(prefix));
          for (const [key, text] of pending) {
            if (!key.startsWith(`${prefix}/`)) continue;
            if (text === undefined) keys.delete(key);
            else keys.add(key);
          }
          const entries: StateEntry<V>[] = [];
          for (const key of [...keys].sort()) {
            const text = pending.get(key);
            const value = text === undefined ? await this.#readListed<V>(key) : (JSON.parse(text) as V);
            if (value !== undefined) entries.push({ key, value });
          }
          return entries;
        }),
      put: (key, value) => {
        assertStateKey(key);
        // Serialised now, so later changes to `value` do not leak into the
        // commit; like MemoryStateStore, a value JSON cannot hold deletes.
        pending.set(key, JSON.stringify(value) as string | undefined);
      },
      delete: (key) => {
        assertStateKey(key);
        pending.set(key, undefined);
      },
    };
  }

  async #commit(changes: readonly Change[]): Promise<void> {
    if (changes.length === 0) return;
    // Every new file is written before the commit is decided (the journal's
    // rename, or the one rename of a single change); applying it then takes
    // only renames and unlinks. So a full disk fails a commit before it
    // counts, and a reader never sees half of it.
    const staged: { readonly path: string; readonly temp: string | undefined }[] = [];
    const touched = new Set<string>();
    try {
      for (const { key, text } of changes) {
        const path = this.#pathOf(key);
        if (text === undefined) {
          staged.push({ path, temp: undefined });
        } else {
          for (const parent of await ensureDir(dirname(path))) touched.add(parent);
          staged.push({ path, temp: await this.#writeTemp(path, text) });
        }
      }
      if (changes.length > 1) {
        const ops = changes.map(({ key, text }) =>
          text === undefined ? JSON.stringify({ op: 'delete', key }) : `{"op":"put","key":${JSON.stringify(key)},"value":${text}}`,
        );
        await this.#writeAtomic(this.#journal, `{"version":1,"ops":[\n${ops.join(',\n')}\n]}\n`);
        if (this.#durable) await syncDir(this.#dir);
      }
      for (const { path, temp } of staged) {
        if (temp !== undefined) await rename(temp, path);
        // Deleting what is not there changes no directory (which may not exist).
        else if (!(await unlinkIfExists(path))) continue;
        touched.add(dirname(path));
      }
    } catch (error) {
      // Those already renamed are gone; the others must not stay behind.
      for (const { temp } of staged) if (temp !== undefined) await unlinkIfExists(temp);
      throw error;
    }
    if (this.#durable) for (const dir of touched) await syncDir(dir);
    if (changes.length > 1) await this.#removeJournal();
  }

  /** Completes a commit that a killed process left half-way. */
  async #replayJournal(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.#journal, 'utf8');
    } catch (error) {
      if (hasCode(error, 'ENOENT')) return;
      throw error;
    }
    await this.#apply(this.#parseJournal(text));
    await this.#removeJournal();
  }

  #parseJournal(text: string): Change[] {
    try {
      const journal = JSON.parse(text) as { ops?: unknown };
      if (!Array.isArray(journal.ops)) throw new Error('no "ops" array');
      return journal.ops.map((op: { op?: unknown; key?: unknown; value?: unknown }) => {
        if (typeof op.key !== 'string') throw new Error('an op without a key');
        assertStateKey(op.key);
        if (op.op === 'delete') return { key: op.key, text: undefined };
        if (op.op === 'put' && 'value' in op) return { key: op.key, text: JSON.stringify(op.value) };
        throw new Error(`unknown op ${JSON.stringify(op.op)}`);
      });
    } catch (error) {
      throw corrupt(this.#journal, undefined, error);
    }
  }

  async #removeJournal(): Promise<void> {
    await unlinkIfExists(this.#journal);
    // Were the removal lost in a crash while a later commit survived, a
    // replay would undo that commit's changes to the same keys.
    if (this.#durable) await syncDir(this.#dir);
  }

  /** Applies changes one by one; each is atomic, and applying twice is harmless. */
  async #apply(changes: readonly Change[]): Promise<void> {
    const touched = new Set<string>();
    for (const { key, text } of changes) {
      const path = this.#pathOf(key);
      if (text === undefined) {
        // Deleting what is not there changes no directory (which may not exist).
        if (await unlinkIfExists(path)) touched.add(dirname(path));
      } else {
        for (const parent of await ensureDir(dirname(path))) touched.add(parent);
        await this.#writeAtomic(path, text);
        touched.add(dirname(path));
      }
    }
    if (this.#durable) for (const dir of touched) await syncDir(dir);
  }

  /** Writes a temporary file beside `path` and renames it over `path`. */
  async #writeAtomic(path: string, text: string): Promise<void> {
    const temp = await this.#writeTemp(path, text);
    try {
      await rename(temp, path);
    } catch (error) {
      await unlinkIfExists(temp);
      throw error;
    }
  }

  /** Writes `text` to a new temporary file beside `path` and returns its path; leaves nothing on failure. */
  async #writeTemp(path: string, text: string): Promise<string> {
    // The leading dot keeps temporary files out of listings: no key starts with one.
    const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.chmod(0o600); // the umask may have narrowed the mode
      await handle.writeFile(text);
      if (this.#durable) await handle.sync();
      await handle.close();
      return temp;
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlinkIfExists(temp);
      throw error;
    }
  }

  async #read<T>(key: string): Promise<T | undefined> {
    const value = await this.#readListed<T>(key);
    if (value instanceof UnreadableRecord) {
      throw new NetModeError(ErrorCode.STATE_CORRUPT, `state file ${value.location} cannot be read: ${value.reason}`, {
        context: { path: value.location, key },
      });
    }
    return value;
  }

  /** The record at `key`, an {@link UnreadableRecord} when its text is not JSON, or undefined when missing. */
  async #readListed<T>(key: string): Promise<T | UnreadableRecord | undefined> {
    const path = this.#pathOf(key);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (hasCode(error, 'ENOENT')) return undefined;
      throw error;
    }
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      return new UnreadableRecord(key, path, errorMessage(error), text);
    }
  }

  /** Every key on disk under `prefix/`, at any depth, sorted. */
  async #keysUnder(prefix: string): Promise<string[]> {
    assertStateKey(prefix);
    const keys: string[] = [];
    await collectKeys(join(this.#dir, ...prefix.split('/')), prefix, keys);
    return keys.sort();
  }

  #pathOf(key: string): string {
    assertStateKey(key);
    return `${join(this.#dir, ...key.split('/'))}.json`;
  }
}

async function collectKeys(dir: string, prefix: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    // Not ENOTDIR: a state directory that is a file must not list as empty.
    if (hasCode(error, 'ENOENT')) return;
    throw error;
  }
  for (const entry of entries) {
    // Temporary files (leading dot) and anything a human dropped here that
    // is not a valid key segment are not records.
    if (entry.isDirectory() && isKeySegment(entry.name)) {
      await collectKeys(join(dir, entry.name), `${prefix}/${entry.name}`, out);
    } else if (entry.isFile() && entry.name.endsWith('.json')) {
      const segment = entry.name.slice(0, -'.json'.length);
      if (isKeySegment(segment)) out.push(`${prefix}/${segment}`);
    }
  }
}

function isKeySegment(name: string): boolean {
  if (name.includes('/')) return false;
  try {
    assertStateKey(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates `dir` and missing parents with mode 0700, chmodding each one it
 * created since the umask may have narrowed the mode. Returns the parents
 * whose entries changed, for fsync.
 */
async function ensureDir(dir: string): Promise<string[]> {
  const first = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (first === undefined) return [];
  const parents: string[] = [];
  for (let current = dir; ; current = dirname(current)) {
    await chmod(current, 0o700);
    parents.push(dirname(current));
    if (current === first || current === dirname(current)) return parents;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function corrupt(path: string, key: string | undefined, cause: unknown): NetModeError {
  return new NetModeError(ErrorCode.STATE_CORRUPT, `state file ${path} cannot be read: ${errorMessage(cause)}`, {
    cause,
    context: key === undefined ? { path } : { path, key },
  });
}
