import { invalidConfig } from '../errors.js';
import type { ConnectOptions } from '../model/endpoint.js';

/**
 * Throws ERR_INVALID_CONFIG naming the first of `names` that is set in
 * `options` (an empty array counts as unset), followed by `why`: for a
 * driver's `validate()`, to refuse the options its mode cannot apply.
 *
 * @example
 * ```ts
 * refuseOptions(request.options, ['ip', 'mac'], 'cannot be used in none mode: the sandbox has only lo');
 * ```
 */
export function refuseOptions(options: ConnectOptions, names: readonly (keyof ConnectOptions)[], why: string): void {
  for (const name of names) {
    const value = options[name];
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    throw invalidConfig(name, why);
  }
}
