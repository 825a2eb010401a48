import { invalidConfig } from '../errors.js';

/** One record returned by a listing: its key and its parsed JSON value. */
export interface StateEntry<T> {
  /** The full key, for example `endpoints/web`. */
  readonly key: string;
  /**
   * The stored value, or an {@link UnreadableRecord} when the stored text is
   * not JSON: one damaged record must not hide the others.
   */
  readonly value: T | UnreadableRecord;
}

/**
 * What a listing returns in place of a record whose stored text cannot be
 * parsed, so that one damaged file does not stop the work on every other
 * record. Readers check every value against its schema anyway, and report
 * this one as ERR_STATE_CORRUPT naming {@link UnreadableRecord.location}.
 */
export class UnreadableRecord {
  /** The record's key. */
  readonly key: string;
  /** Where it is stored (a file path for the file store). */
  readonly location: string;
  /** Why it cannot be read. */
  readonly reason: string;
  /** The beginning of the stored text, for a reader that must guess what it was about. */
  readonly text: string;

  constructor(key: string, location: string, reason: string, text: string) {
    this.key = key;
    this.location = location;
    this.reason = reason;
    this.text = text.slice(0, 4096);
  }
}

/**
 * The view of the state inside {@link StateStore.transaction}. Reads see the
 * transaction's own writes; writes become visible to others only when the
 * transaction commits, all of them together.
 */
export interface StateTransaction {
  /** Where the record at `key` is kept, for error messages; see {@link StateStore.locate}. */
  locate?(key: string): string;
  /** The record at `key`, or `undefined` when there is none. */
  get<T>(key: string): Promise<T | undefined>;
  /** Every record whose key starts with `prefix/`, sorted by key; unparsable ones as {@link UnreadableRecord}. */
  list<T>(prefix: string): Promise<StateEntry<T>[]>;
  /** Stores `value` (any JSON-serialisable value) at `key` when the transaction commits. */
  put(key: string, value: unknown): void;
  /** Removes the record at `key` when the transaction commits; removing a missing key is not an error. */
  delete(key: string): void;
}

/**
 * Where netmode keeps networks, endpoints and IPAM leases. The default
 * implementation keeps JSON files under a state directory; a distributed store
 * (etcd, for multi-host networks) can implement the same contract.
 *
 * Contract for implementations:
 * - `transaction()` runs its callback while holding an exclusive lock that
 *   every process using the same store respects, so two processes never
 *   interleave their read-modify-write cycles.
 * - A transaction's writes commit all together or not at all, including when
 *   the process is killed part-way through a commit.
 * - A lock whose holder died is recovered without human help.
 * - Keys are `/`-separated segments of letters, digits, `_`, `.`, `@`, `-`,
 *   each starting with a letter or digit; see {@link assertStateKey}.
 */
export interface StateStore {
  /**
   * Where the record at `key` is kept, for error messages (the file store
   * returns the file's path). Optional; without it messages name the key.
   */
  locate?(key: string): string;
  /** Reads one record without the lock: a snapshot that may be stale at once. */
  get<T>(key: string): Promise<T | undefined>;
  /**
   * Lists records under `prefix` without the lock, sorted by key. A record
   * whose text cannot be parsed is listed as an {@link UnreadableRecord};
   * `get` of it throws ERR_STATE_CORRUPT.
   */
  list<T>(prefix: string): Promise<StateEntry<T>[]>;
  /**
   * Runs `fn` with the exclusive lock held. Its writes commit atomically when
   * it resolves and are discarded when it throws; the error is rethrown.
   * Transactions must not nest: calling `transaction()` inside `fn` deadlocks
   * in implementations that hold an inter-process lock.
   */
  transaction<T>(fn: (tx: StateTransaction) => Promise<T>): Promise<T>;
}

const KEY_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,199}$/;

/**
 * Throws {@link ErrorCode.INVALID_CONFIG} unless `key` is a valid state key:
 * one or more `/`-separated segments, each 1–200 characters of letters,
 * digits, `_`, `.`, `@` and `-`, starting with a letter or digit. Keys map to
 * file paths, so nothing else may pass.
 */
export function assertStateKey(key: string): void {
  const segments = key.split('/');
  if (segments.length === 0 || !segments.every((s) => KEY_SEGMENT.test(s))) {
    throw invalidConfig('state key', `${JSON.stringify(key)} is not a valid state key`);
  }
}
