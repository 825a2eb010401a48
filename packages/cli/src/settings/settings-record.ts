import { checkRecord, type ProcessIdentity, type RecordKind, type StateStore, type StateTransaction } from '@netmode/core';
import Type from 'typebox';
import type { Settings } from './daemon-settings.js';

/**
 * The daemon settings in force for a state directory, kept at
 * `STATE_DIR/settings/daemon.json` (written under the state lock): those
 * given to the first command that could change something, then every
 * change applied since. Only settings ever given are there; the others
 * have their defaults.
 */
export interface SettingsRecord {
  /** The settings by key (`mtu`, `ipForward`, …), as the global options' parser makes them. */
  readonly settings: Settings;
  /** ISO-8601 time of the last change. */
  readonly updatedAt: string;
  /**
   * The `netmode daemon` that serves with these settings: while it runs, no
   * other process may change them (its manager keeps the old ones).
   */
  readonly heldBy?: ProcessIdentity;
}

/** Its key in the state store. */
export const SETTINGS_KEY = 'settings/daemon';

const Value = Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Array(Type.String())]);

const SETTINGS_RECORD: RecordKind<ReturnType<typeof schema>> = { what: 'settings record', schema: schema() };

function schema() {
  return Type.Object({
    // A key this version does not know (a newer netmode's setting) is kept as it is.
    settings: Type.Record(Type.String(), Value),
    updatedAt: Type.String(),
    heldBy: Type.Optional(Type.Object({ pid: Type.Integer({ minimum: 1 }), start: Type.String() })),
  });
}

/** The record, or undefined in a state directory that has none; ERR_STATE_CORRUPT naming the file when it cannot be read. */
export async function readSettingsRecord(from: Pick<StateStore, 'get' | 'locate'> | StateTransaction): Promise<SettingsRecord | undefined> {
  const value = await from.get<unknown>(SETTINGS_KEY);
  return value === undefined ? undefined : checkRecord(SETTINGS_RECORD, SETTINGS_KEY, value, from);
}

/**
 * Marks the settings as those `process` serves with (`netmode daemon`),
 * keeping `settings` as the first in a state directory that has none; or,
 * with `release`, takes its mark off again if it is still there.
 */
export async function holdSettings(store: StateStore, process: ProcessIdentity, settings: Settings, release = false): Promise<void> {
  await store.transaction(async (tx) => {
    const record: SettingsRecord = (await readSettingsRecord(tx)) ?? { settings, updatedAt: new Date().toISOString() };
    if (!release) {
      tx.put(SETTINGS_KEY, { ...record, heldBy: process });
    } else if (record.heldBy?.pid === process.pid && record.heldBy.start === process.start) {
      const { heldBy: _heldBy, ...rest } = record;
      tx.put(SETTINGS_KEY, rest);
    }
  });
}
