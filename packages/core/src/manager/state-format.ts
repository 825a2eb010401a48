import { ErrorCode, NetModeError } from '../errors.js';
import { checkRecord } from '../store/record-schema.js';
import type { StateStore, StateTransaction } from '../store/state-store.js';
import { FORMAT_1_ENDPOINT_RECORD, FORMAT_RECORD } from './record-kinds.js';
import { endpointKey } from './records.js';
import { withDefaults } from './state.js';

/**
 * The layout of the state directory, and its migration from older layouts.
 *
 * - Format 1 (the releases before several networks per container): one
 *   endpoint per container under `endpoints/CONTAINER`, its id the
 *   container id; a joiner's owner only in its driver's `driverData.target`.
 * - Format 2: one record per (container, network) under
 *   `endpoints/CONTAINER/NETWORK`, with `joinedTo`, `gwPriority`,
 *   `defaultRoute` and `aliases`; new endpoints get ids `CONTAINER@HASH`,
 *   migrated ones keep theirs (their kernel objects and leases are named
 *   after them). The version is kept under `format`.
 *
 * @module
 */

/** The format this release writes. */
export const STATE_FORMAT = 2;
const FORMAT_KEY = 'format';
const INSTANCE_KEY = 'instance';

/** The record of the format, as put in the transaction that first writes the instance. */
export function formatRecord(): { readonly version: number } {
  return { version: STATE_FORMAT };
}

/**
 * Makes sure the state directory is in {@link STATE_FORMAT}: a newer format
 * is refused, an older one migrated in place, in one transaction (all of it
 * or nothing, so a crash midway leaves format 1 to migrate again). A fresh
 * directory is left untouched: the first write records the format.
 *
 * @throws ERR_STATE_FORMAT_UNKNOWN for a newer format; ERR_STATE_CORRUPT
 */
export async function ensureStateFormat(store: StateStore): Promise<{ readonly migrated: number }> {
  if ((await readFormat(store)) === STATE_FORMAT) return { migrated: 0 };
  return store.transaction(async (tx) => {
    const version = await readFormat(tx);
    if (version === STATE_FORMAT) return { migrated: 0 };
    const migrated = await migrateFormat1(tx);
    // A directory nothing was ever written to stays empty.
    if (migrated > 0 || (await tx.get(INSTANCE_KEY)) !== undefined) tx.put(FORMAT_KEY, formatRecord());
    return { migrated };
  });
}

/** The format recorded (1 when none is: every directory before format 2). @throws ERR_STATE_FORMAT_UNKNOWN */
async function readFormat(reader: Pick<StateStore, 'get' | 'locate'>): Promise<number> {
  const stored = await reader.get<unknown>(FORMAT_KEY);
  if (stored === undefined) return 1;
  const { version } = checkRecord(FORMAT_RECORD, FORMAT_KEY, stored, reader);
  if (version > STATE_FORMAT) {
    throw new NetModeError(
      ErrorCode.STATE_FORMAT_UNKNOWN,
      `the state directory is in format ${version}, written by a newer netmode; this release reads formats 1 to ${STATE_FORMAT}`,
      { context: { format: version, supported: STATE_FORMAT, ...(reader.locate ? { path: reader.locate(FORMAT_KEY) } : {}) } },
    );
  }
  return version;
}

/**
 * Moves every format-1 endpoint record to its format-2 key, in the caller's
 * transaction, and returns how many moved. A record that cannot be read
 * stays where it is: listings report it as damaged, as before.
 */
async function migrateFormat1(tx: StateTransaction): Promise<number> {
  let moved = 0;
  for (const { key, value } of await tx.list<unknown>('endpoints')) {
    if (key.split('/').length !== 2) continue;
    let record;
    try {
      record = checkRecord(FORMAT_1_ENDPOINT_RECORD, key, value, tx);
    } catch {
      continue;
    }
    // Format 1 kept a joiner's owner only in the container driver's data.
    const target = record.driver === 'container' ? record.driverData['target'] : undefined;
    const joinedTo = record.joinedTo ?? (typeof target === 'string' ? target : undefined);
    tx.put(endpointKey(record.containerId, record.network), { ...withDefaults(record), ...(joinedTo === undefined ? {} : { joinedTo }) });
    tx.delete(key);
    moved += 1;
  }
  return moved;
}
