import type { GlobalOptions } from '../args/globals.js';
import { bridgeOptions } from './bridge-options.js';

/** The driver packages `netmode` registers unless `--driver-package` names others. */
export const BUILT_IN_DRIVER_PACKAGES: readonly string[] = [
  '@netmode/driver-none',
  '@netmode/driver-host',
  '@netmode/driver-bridge',
  '@netmode/driver-container',
];

/**
 * The packages whose registration takes options from the global flags, as
 * dockerd's flags configure its default bridge. Every other package is
 * registered with its own defaults.
 */
export const OPTIONS_FROM_GLOBALS: Readonly<Record<string, (globals: GlobalOptions) => object>> = {
  '@netmode/driver-bridge': bridgeOptions,
};
