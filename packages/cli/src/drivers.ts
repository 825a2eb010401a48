import type { DriverRegistration } from '@netmode/core';
import { registerBridgeDriver, type BridgeDriverOptions } from '@netmode/driver-bridge';
import { registerContainerDriver } from '@netmode/driver-container';
import { registerHostDriver } from '@netmode/driver-host';
import { registerNoneDriver } from '@netmode/driver-none';
import type { GlobalOptions } from './args/global-options.js';

/** The bridge driver's options from the global flags; unset flags keep the driver's defaults. */
export function bridgeOptions(globals: GlobalOptions): BridgeDriverOptions {
  const options: { -readonly [K in keyof BridgeDriverOptions]: BridgeDriverOptions[K] } = {};
  if (globals.bridge !== undefined) options.bridge = globals.bridge;
  if (globals.bip !== undefined) options.bip = globals.bip;
  if (globals.icc !== undefined) options.icc = globals.icc;
  if (globals.ipForward !== undefined) options.ipForward = globals.ipForward;
  if (globals.ipMasq !== undefined) options.ipMasq = globals.ipMasq;
  if (globals.mtu !== undefined) options.mtu = globals.mtu;
  if (globals.firewall !== undefined) options.firewall = globals.firewall;
  return options;
}

/** Every mode the CLI serves: none, host, bridge (with the global options) and container:NAME. */
export function driverRegistrations(globals: GlobalOptions): DriverRegistration[] {
  return [registerNoneDriver, registerHostDriver, (c) => registerBridgeDriver(c, bridgeOptions(globals)), registerContainerDriver];
}
