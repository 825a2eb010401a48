import { ErrorCode, isNetModeError, isProcessAlive, type NetworkManager, type StateStore } from '@netmode/core';
import { CliError, CliErrorCode } from '../cli-error.js';
import { settle, showValue, type SettingChangeOf, type Settings } from './daemon-settings.js';
import { SETTINGS_KEY, readSettingsRecord, type SettingsRecord } from './settings-record.js';

/**
 * What a command does with the daemon settings kept in the state directory:
 * `apply` — it may change something, so it stores the settings given the
 * first time and applies a change or refuses it; `read` — it only reads,
 * so it stores nothing and refuses a setting that differs from the one in
 * force.
 */
export type SettingsUse = 'apply' | 'read';

/** The default network, which the `default-network` settings shape. */
export const DEFAULT_NETWORK = 'bridge';

/** What {@link settleSettings} needs besides the store. */
export interface SettleContext {
  /** The command, for messages (`network ls`). */
  readonly command: string;
  readonly use: SettingsUse;
  /** A manager made with these settings (the SDK's other options as this command's): the one that can undo what they made. */
  managerFor(settings: Settings): Promise<NetworkManager>;
  /** Throws when these settings cannot work (a bad value, a missing namespace or package): before any is stored or applied. */
  check(settings: Settings): Promise<void>;
  /** Says what was applied. */
  note(text: string): void;
  /**
   * The state directory holds nothing yet: the first settings are kept by
   * {@link keepFirstSettings} once the command has created something, so
   * that a command refused before it changes anything writes nothing.
   */
  readonly firstLater?: boolean;
}

/** What {@link settleSettings} decides. */
export interface SettledSettings {
  /** The settings in force for the command. */
  readonly inForce: Settings;
  /** Whether they are the first, still to be kept by {@link keepFirstSettings}. */
  readonly pending: boolean;
}

/**
 * The settings in force for this command: those stored, overridden by
 * those given. A new state directory keeps the settings given (`apply`
 * only; see {@link SettleContext.firstLater}). A change is applied as a dockerd restart would (see
 * docs/configuration.md) and stored, or refused with
 * ERR_SETTINGS_CONFLICT, changing nothing.
 */
export async function settleSettings(store: StateStore, given: Settings, ctx: SettleContext): Promise<SettledSettings> {
  // Another process may store or change the settings between the read and the write: then start over.
  for (let attempt = 0; ; attempt += 1) {
    const stored = await readSettingsRecord(store);
    const { inForce, changes } = settle(stored?.settings, given);
    if (ctx.use === 'read') {
      const [first] = changes;
      if (first) {
        throw conflict(
          first,
          `${ctx.command} only reads, and changes no setting: leave the flag out to see what is in force, or give it to a command that creates something`,
        );
      }
      return { inForce, pending: false };
    }
    if (stored !== undefined && changes.length === 0) return { inForce, pending: false };
    if (stored === undefined && ctx.firstLater === true) return { inForce, pending: true };
    await ctx.check(inForce);
    if (stored !== undefined) await apply(stored, changes, ctx);
    const written = await store.transaction(async (tx) => {
      const now = await readSettingsRecord(tx);
      if (JSON.stringify(now) !== JSON.stringify(stored)) return false;
      const record: SettingsRecord = { ...stored, settings: inForce, updatedAt: new Date().toISOString() };
      tx.put(SETTINGS_KEY, record);
      return true;
    });
    if (written) {
      for (const change of changes)
        ctx.note(`${describeChange(change)}: applied, and kept in the state directory (${store.locate?.(SETTINGS_KEY) ?? SETTINGS_KEY})`);
      return { inForce, pending: false };
    }
    if (attempt >= 3) throw new Error(`the settings in ${SETTINGS_KEY} keep changing under this command`);
  }
}

/**
 * Keeps the first settings of a state directory, those a command used to
 * create the first thing in it. Resolves to the settings another command
 * kept meanwhile with other values (two first commands at once), for a
 * warning: both created something with their own.
 */
export async function keepFirstSettings(store: StateStore, settings: Settings): Promise<readonly SettingChangeOf[]> {
  return store.transaction(async (tx) => {
    const stored = await readSettingsRecord(tx);
    if (stored !== undefined) return settle(stored.settings, settings).changes;
    const record: SettingsRecord = { settings, updatedAt: new Date().toISOString() };
    tx.put(SETTINGS_KEY, record);
    return [];
  });
}

/**
 * Makes what the changes need: the default network removed (made again
 * with the new settings at its next use) for a `default-network` setting,
 * every predefined network for a `fixed` one. Refuses, changing nothing,
 * when what must go is in use.
 */
async function apply(stored: SettingsRecord, changes: readonly SettingChangeOf[], ctx: SettleContext): Promise<void> {
  const [first] = changes as [SettingChangeOf];
  if (stored.heldBy && isProcessAlive(stored.heldBy)) {
    throw conflict(
      first,
      `netmode daemon (PID ${stored.heldBy.pid}) serves with the settings in force: stop it first, then start it with the new one`,
    );
  }
  const fixed = changes.find((change) => (change.spec.change ?? 'fixed') === 'fixed');
  const shapesDefault = changes.find((change) => change.spec.change === 'default-network');
  if (!fixed && !shapesDefault) return;
  const old = await ctx.managerFor(stored.settings);
  const listedAt = new Date();
  const [endpoints, networks] = await Promise.all([old.list(), old.listNetworks()]);
  if (fixed) {
    const users = [...new Set(endpoints.map((e) => e.containerId))];
    const userNetworks = networks.filter((n) => !n.predefined).map((n) => n.name);
    if (users.length > 0 || userNetworks.length > 0) {
      throw conflict(
        fixed,
        `it cannot change while anything exists (${[...listed('containers', users), ...listed('networks', userNetworks)].join('; ')}): remove them first`,
      );
    }
  } else {
    const users = [...new Set(endpoints.filter((e) => e.network === DEFAULT_NETWORK).map((e) => e.containerId))];
    if (users.length > 0) {
      throw conflict(
        shapesDefault as SettingChangeOf,
        `the default network ${DEFAULT_NETWORK} is in use (${listed('containers', users).join('')}): remove them first`,
      );
    }
  }
  const toReset = networks.filter((n) => n.predefined && (fixed !== undefined || n.name === DEFAULT_NETWORK)).map((n) => n.name);
  for (const name of toReset) {
    try {
      await old.resetPredefinedNetwork(name);
    } catch (error) {
      // Another process connected a container since the check.
      if (isNetModeError(error, ErrorCode.NETWORK_IN_USE)) {
        throw conflict(fixed ?? (shapesDefault as SettingChangeOf), `${error.message}: remove them first`);
      }
      throw error;
    }
  }
  // What the old settings shared among networks (the firewall's base table, say) goes too, now that none is left.
  if (fixed) await old.gc([], { listedAt });
}

function listed(what: string, names: readonly string[]): string[] {
  return names.length === 0 ? [] : [`${what} ${names.join(', ')}`];
}

/** `--mtu: 1400 in force, 1300 given`. */
export function describeChange(change: SettingChangeOf): string {
  return `--${change.spec.long}: ${showValue(change.inForce)} in force, ${showValue(change.given)} given`;
}

function conflict(change: SettingChangeOf, reason: string): CliError {
  return new CliError(CliErrorCode.SETTINGS_CONFLICT, `${describeChange(change)}; ${reason}. Nothing was changed`);
}
