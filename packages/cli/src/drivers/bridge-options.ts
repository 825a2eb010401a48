import type { BridgeDriverOptions } from '@netmode/driver-bridge';
import type { GlobalOptions } from '../args/globals.js';

/**
 * The bridge driver's options from the global flags; unset flags keep the
 * driver's defaults. `--firewall` is the instance's (`createNetMode({ firewall })`), not the driver's.
 */
export function bridgeOptions(globals: GlobalOptions): BridgeDriverOptions {
  const options: { -readonly [K in keyof BridgeDriverOptions]: BridgeDriverOptions[K] } = {};
  if (globals.bridge !== undefined) options.bridge = globals.bridge;
  if (globals.bip !== undefined) options.bip = globals.bip;
  if (globals.icc !== undefined) options.icc = globals.icc;
  if (globals.ipForward !== undefined) options.ipForward = globals.ipForward;
  if (globals.ipMasq !== undefined) options.ipMasq = globals.ipMasq;
  if (globals.mtu !== undefined) options.mtu = globals.mtu;
  if (globals.userlandProxy !== undefined) options.userlandProxy = globals.userlandProxy;
  return options;
}
