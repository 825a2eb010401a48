import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DependencyContainer } from '@netmode/core';
import { CliError, CliErrorCode, ExitCode } from '../cli-error.js';

/**
 * What `netmode` calls in a driver package: its one exported
 * `register…Driver` function (the contract of every driver package, see
 * docs/driver-authoring.md), given the netmode instance's container and,
 * for the bridge, the options of the global flags.
 */
export type RegisterDriver = (container: DependencyContainer, options?: object) => void;

/** One registration function a package exports. */
export interface Registration {
  /** Its name (`registerBridgeDriver`, `registerAuditFirewall`). */
  readonly exportName: string;
  /** The function. */
  readonly register: RegisterDriver;
}

/** A driver package, loaded: its driver's registration, its firewall backend's, or both. */
export interface DriverPackage {
  /** As given: a package name or a path. */
  readonly specifier: string;
  /** Its `register…Driver` function, if it has one. */
  readonly driver: Registration | undefined;
  /** Its `register…Firewall` function (a firewall backend, selected with `--firewall NAME`), if it has one. */
  readonly firewall: Registration | undefined;
}

const REGISTER_DRIVER = /^register\w*Driver$/;
const REGISTER_FIREWALL = /^register\w*Firewall$/;

function isPath(specifier: string): boolean {
  return specifier.startsWith('.') || isAbsolute(specifier) || specifier.startsWith('file:');
}

/**
 * The URL of a driver package: a path (`./x.js`, `/abs/x.js`, `file:…`) from
 * `cwd`; a package name as the CLI's own imports resolve it, that is, from
 * where netmode is installed.
 */
function locate(specifier: string, cwd: string): string {
  if (isPath(specifier)) {
    const url = specifier.startsWith('file:') ? specifier : pathToFileURL(resolve(cwd, specifier)).href;
    const path = fileURLToPath(url);
    if (!existsSync(path)) throw new CliError(CliErrorCode.DRIVER_PACKAGE_NOT_FOUND, `driver package ${specifier}: no such file ${path}`);
    return url;
  }
  try {
    return import.meta.resolve(specifier);
  } catch (error) {
    throw new CliError(CliErrorCode.DRIVER_PACKAGE_NOT_FOUND, `driver package ${specifier}: ${(error as Error).message}`, ExitCode.FAILED, {
      cause: error,
    });
  }
}

/**
 * Loads one driver package and finds its registration functions: at most
 * one named `register…Driver` and at most one named `register…Firewall`
 * (a firewall backend), and at least one of the two. Throws
 * `ERR_DRIVER_PACKAGE_NOT_FOUND` when there is no such module, and
 * `ERR_DRIVER_PACKAGE_INVALID` when it fails to load or exports no such
 * function, or two of a kind. Registers nothing.
 */
export async function loadDriverPackage(specifier: string, cwd: string): Promise<DriverPackage> {
  const url = locate(specifier, cwd);
  let exports: Record<string, unknown>;
  try {
    exports = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    const message = `driver package ${specifier} failed to load: ${(error as Error).message}`;
    throw new CliError(CliErrorCode.DRIVER_PACKAGE_INVALID, message, ExitCode.FAILED, { cause: error });
  }
  const pick = (pattern: RegExp, what: string): Registration | undefined => {
    const found = Object.entries(exports).filter(([name, value]) => pattern.test(name) && typeof value === 'function');
    if (found.length > 1) {
      throw new CliError(
        CliErrorCode.DRIVER_PACKAGE_INVALID,
        `driver package ${specifier} exports ${found.length} ${what} functions (${found.map(([name]) => name).join(', ')}), not one`,
      );
    }
    const [first] = found as [string, RegisterDriver][];
    return first === undefined ? undefined : { exportName: first[0], register: first[1] };
  };
  const driver = pick(REGISTER_DRIVER, 'register…Driver');
  const firewall = pick(REGISTER_FIREWALL, 'register…Firewall');
  if (driver === undefined && firewall === undefined) {
    const exported = Object.keys(exports).sort().join(', ') || 'nothing';
    throw new CliError(
      CliErrorCode.DRIVER_PACKAGE_INVALID,
      `driver package ${specifier} exports no function named register…Driver or register…Firewall (it exports: ${exported})`,
    );
  }
  return { specifier, driver, firewall };
}
