import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DependencyContainer } from 'tsyringe';
import { CliError, CliErrorCode, ExitCode } from '../cli-error.js';

/**
 * What `netmode` calls in a driver package: its one exported
 * `register…Driver` function (the contract of every driver package, see
 * docs/driver-authoring.md), given the netmode instance's container and,
 * for the bridge, the options of the global flags.
 */
export type RegisterDriver = (container: DependencyContainer, options?: object) => void;

/** A driver package, loaded. */
export interface DriverPackage {
  /** As given: a package name or a path. */
  readonly specifier: string;
  /** The name of its registration function (`registerBridgeDriver`). */
  readonly exportName: string;
  /** Its registration function. */
  readonly register: RegisterDriver;
}

const REGISTER_FUNCTION = /^register\w*Driver$/;

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
    throw new CliError(CliErrorCode.DRIVER_PACKAGE_NOT_FOUND, `driver package ${specifier}: ${(error as Error).message}`, ExitCode.FAILED, { cause: error });
  }
}

/**
 * Loads one driver package and finds its registration function. Throws
 * `ERR_DRIVER_PACKAGE_NOT_FOUND` when there is no such module, and
 * `ERR_DRIVER_PACKAGE_INVALID` when it fails to load or does not export
 * exactly one function named `register…Driver`. Registers nothing.
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
  const found = Object.entries(exports).filter(([name, value]) => REGISTER_FUNCTION.test(name) && typeof value === 'function');
  if (found.length !== 1) {
    const what = found.length === 0 ? `no function named register…Driver (it exports: ${Object.keys(exports).sort().join(', ') || 'nothing'})` : `${found.length} register…Driver functions (${found.map(([name]) => name).join(', ')}), not one`;
    throw new CliError(CliErrorCode.DRIVER_PACKAGE_INVALID, `driver package ${specifier} exports ${what}`);
  }
  const [[exportName, register]] = found as [[string, RegisterDriver]];
  return { specifier, exportName, register };
}
