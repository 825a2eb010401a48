import { DAEMON_SETTINGS, type DaemonSettingSpec, type SettingValue } from '../args/global-option-specs.js';
import type { GlobalOptions } from '../args/globals.js';

/**
 * Daemon settings by key (`mtu`, `ipForward`, …): those given to one
 * command, or those in force for a state directory. A setting never given
 * is absent and has its default.
 */
export type Settings = Readonly<Record<string, SettingValue>>;

/** One setting a command gives with a value other than the one in force. */
export interface SettingChangeOf {
  readonly spec: DaemonSettingSpec;
  /** The value in force, the default when never given; undefined when none is (no `-b`, or `--bip` while `-b` is in force). */
  readonly inForce: SettingValue | undefined;
  /** The value given. */
  readonly given: SettingValue;
}

/** What {@link settle} decides. */
export interface Settled {
  /** The settings in force once the changes are applied: those stored, overridden by those given. */
  readonly inForce: Settings;
  /** The settings given with a value other than the one in force, in `--help` order. */
  readonly changes: readonly SettingChangeOf[];
}

/** The daemon settings among the global options (flags and NETMODE_* variables alike). */
export function givenSettings(globals: GlobalOptions): Settings {
  const given: Record<string, SettingValue> = {};
  for (const { key } of DAEMON_SETTINGS) {
    const value = globals[key] as SettingValue | undefined;
    if (value !== undefined) given[key] = value;
  }
  return given;
}

/**
 * Compares the settings given with those stored, pure. Nothing stored (a
 * new state directory): the settings given are in force, and nothing is a
 * change. Otherwise a setting given is a change when its value differs from
 * the one in force, the default counting for one never given; giving a
 * setting drops the one it excludes (`--bip` drops `-b`).
 */
export function settle(stored: Settings | undefined, given: Settings): Settled {
  if (stored === undefined) return { inForce: given, changes: [] };
  const inForce: Record<string, SettingValue> = { ...stored, ...given };
  const changes: SettingChangeOf[] = [];
  for (const spec of DAEMON_SETTINGS) {
    const value = given[spec.key];
    if (value === undefined) continue;
    const current = effective(stored, spec);
    if (current === undefined || !same(current, value)) changes.push({ spec, inForce: current, given: value });
    if (spec.excludes !== undefined && given[spec.excludes] === undefined) delete inForce[spec.excludes];
  }
  return { inForce, changes };
}

/** A setting's value in `settings`: its own, else its default; none while a setting that excludes it is there. */
export function effective(settings: Settings, spec: DaemonSettingSpec): SettingValue | undefined {
  if (spec.excludes !== undefined && settings[spec.excludes] !== undefined) return undefined;
  return settings[spec.key] ?? spec.default;
}

/** How a value reads in a message: as it is given on the command line. */
export function showValue(value: SettingValue | undefined): string {
  if (value === undefined) return 'none';
  return Array.isArray(value) ? value.join(',') : String(value);
}

function same(a: SettingValue, b: SettingValue): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, index) => item === b[index]);
  }
  return a === b;
}
