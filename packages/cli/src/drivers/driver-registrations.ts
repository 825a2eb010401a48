import type { DriverRegistration } from '@netmode/core';
import type { GlobalOptions } from '../args/globals.js';
import { BUILT_IN_DRIVER_PACKAGES, OPTIONS_FROM_GLOBALS } from './built-in.js';
import { loadDriverPackage, type DriverPackage } from './driver-package.js';

/** What the CLI registers in a netmode instance: drivers, and third-party firewall backends. */
export interface Registrations {
  /** For `createNetMode({ drivers })`. */
  readonly drivers: DriverRegistration[];
  /** For `createNetMode({ firewalls })`, selected with `--firewall NAME`. */
  readonly firewalls: DriverRegistration[];
}

/**
 * The drivers and firewall backends the CLI registers: those of the
 * packages `--driver-package` (or `NETMODE_DRIVER_PACKAGES`) names, else
 * the four built-in drivers, in that order. Every package is loaded before
 * any is registered, and the first that cannot be, in the order given, is
 * the error.
 */
export async function driverRegistrations(globals: GlobalOptions, cwd: string = process.cwd()): Promise<Registrations> {
  const specifiers = globals.driverPackages ?? BUILT_IN_DRIVER_PACKAGES;
  const packages: DriverPackage[] = [];
  for (const result of await Promise.allSettled(specifiers.map((specifier) => loadDriverPackage(specifier, cwd)))) {
    if (result.status === 'rejected') throw result.reason;
    packages.push(result.value);
  }
  const drivers = packages.flatMap(({ specifier, driver }): DriverRegistration[] => {
    if (driver === undefined) return [];
    const options = OPTIONS_FROM_GLOBALS[specifier]?.(globals);
    return [options === undefined ? (container) => driver.register(container) : (container) => driver.register(container, options)];
  });
  const firewalls = packages.flatMap(({ firewall }): DriverRegistration[] => (firewall === undefined ? [] : [(c) => firewall.register(c)]));
  return { drivers, firewalls };
}
