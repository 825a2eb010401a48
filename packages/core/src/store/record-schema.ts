import type { Static, TSchema } from 'typebox';
import Value from 'typebox/value';
import { ErrorCode, NetModeError } from '../errors.js';
import { UnreadableRecord, type StateEntry, type StateStore } from './state-store.js';

/**
 * Every record is checked against its schema when it is read, so a record
 * that is valid JSON of the wrong shape (`null`, `{}`, a field of the wrong
 * type) is reported as ERR_STATE_CORRUPT naming its file, instead of
 * reaching code that trusts its fields.
 *
 * @module
 */

/** The schema of one kind of record, and what to call it in messages. */
export interface RecordKind<S extends TSchema> {
  /** What the record is, for messages: `endpoint record`, `network record`. */
  readonly what: string;
  /** Its JSON schema (TypeBox). */
  readonly schema: S;
  /**
   * Further checks the schema cannot express (the key matches a field, say),
   * returning a problem or undefined. Runs only on a value the schema accepted.
   */
  readonly refine?: (value: Static<S>, key: string) => string | undefined;
}

/** A record that failed its check: its key, where it is kept, and why. */
export interface CorruptRecord {
  /** The record's key. */
  readonly key: string;
  /** The error to report: ERR_STATE_CORRUPT naming the file. */
  readonly error: NetModeError;
  /** The stored text or value, serialised, for a reader that must guess what it was about. */
  readonly text: string;
}

/** One record that passed its check. */
export interface CheckedRecord<T> {
  /** Its key. */
  readonly key: string;
  /** Its value, as its kind describes it. */
  readonly value: T;
}

/** The records of a listing that passed their check, and those that did not. */
export interface CheckedListing<T> {
  /** The records that passed, in key order. */
  readonly records: readonly CheckedRecord<T>[];
  /** The records that failed. */
  readonly corrupt: readonly CorruptRecord[];
}

/**
 * `value` (read from `key`) as the record kind describes it.
 *
 * @throws NetModeError ERR_STATE_CORRUPT naming the file (through `store.locate`) and the first problem.
 */
export function checkRecord<S extends TSchema>(
  kind: RecordKind<S>,
  key: string,
  value: unknown,
  store?: Pick<StateStore, 'locate'>,
): Static<S> {
  const problem = findProblem(kind, key, value);
  if (problem !== undefined) throw corruptRecord(kind, key, problem, store);
  return value as Static<S>;
}

/** Splits a listing into the records that pass their check and those that do not; never throws for a bad record. */
export function checkListing<S extends TSchema>(
  kind: RecordKind<S>,
  entries: readonly StateEntry<unknown>[],
  store?: Pick<StateStore, 'locate'>,
): CheckedListing<Static<S>> {
  const records: { key: string; value: Static<S> }[] = [];
  const corrupt: CorruptRecord[] = [];
  for (const { key, value } of entries) {
    const problem = findProblem(kind, key, value);
    if (problem === undefined) records.push({ key, value: value as Static<S> });
    else corrupt.push({ key, error: corruptRecord(kind, key, problem, store), text: textOf(value) });
  }
  return { records, corrupt };
}

function findProblem<S extends TSchema>(kind: RecordKind<S>, key: string, value: unknown): string | undefined {
  if (value instanceof UnreadableRecord) return `it is not JSON (${value.reason})`;
  if (!Value.Check(kind.schema, value)) {
    const [first] = Value.Errors(kind.schema, value);
    const where = first?.instancePath ? `field ${first.instancePath.slice(1).replaceAll('/', '.')}` : 'the record';
    return `${where} ${first?.message ?? 'does not match its schema'}`;
  }
  return kind.refine?.(value as Static<S>, key);
}

function corruptRecord(kind: RecordKind<TSchema>, key: string, problem: string, store?: Pick<StateStore, 'locate'>): NetModeError {
  const location = store?.locate?.(key);
  const where = location === undefined ? `state record ${key}` : `state file ${location}`;
  return new NetModeError(ErrorCode.STATE_CORRUPT, `${where} is not a valid ${kind.what}: ${problem}`, {
    context: { key, ...(location === undefined ? {} : { path: location }) },
  });
}

function textOf(value: unknown): string {
  if (value instanceof UnreadableRecord) return value.text;
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}
