import type { DriverRegistration } from '@netmode/core';
import type { GlobalOptions } from '../args/global-options.js';
import { BUILT_IN_DRIVER_PACKAGES, OPTIONS_FROM_GLOBALS } from './built-in.js';
import { loadDriverPackage, type DriverPackage } from './driver-package.js';

/**
 * The drivers the CLI registers: those of the packages `--driver-package`
 * (or `NETMODE_DRIVER_PACKAGES`) names, else the four built-in ones, in
 * that order. Every package is loaded before any is registered, and the
 * first that cannot be, in the order given, is the error.
 */
export async function driverRegistrations(globals: GlobalOptions, cwd: string = process.cwd()): Promise<DriverRegistration[]> {
  const specifiers = globals.driverPackages ?? BUILT_IN_DRIVER_PACKAGES;
  const packages: DriverPackage[] = [];
  for (const result of await Promise.allSettled(specifiers.map((specifier) => loadDriverPackage(specifier, cwd)))) {
    if (result.status === 'rejected') throw result.reason;
    packages.push(result.value);
  }
  return packages.map(({ specifier, register }) => {
    const options = OPTIONS_FROM_GLOBALS[specifier]?.(globals);
    return options === undefined ? (container) => register(container) : (container) => register(container, options);
  });
}
