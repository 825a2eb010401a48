/**
 * `@netmode/driver-bridge`: Docker's `bridge` network mode for netmode.
 * Register it with `createNetMode({ drivers: [registerBridgeDriver] })` (or
 * `(c) => registerBridgeDriver(c, { bip: '10.200.0.1/24' })`); then
 * `connect(id, 'bridge', { ports: [{ hostPort: 8080, containerPort: 80 }] })`
 * gives the container a namespace with `eth0` on the bridge `netmode0`, an
 * address, a default route, masquerade and the published port, and
 * `createNetwork({ name, driver: 'bridge' })` makes isolated user-defined
 * networks, each on its own bridge.
 *
 * @module
 */
import {
  FIREWALL,
  FIREWALL_REGISTRY,
  Lifecycle,
  NETWORK_DRIVER,
  invalidConfig,
  type DependencyContainer,
  type Firewall,
  type FirewallRegistry,
} from '@netmode/core';
import { BridgeDriver } from './bridge-driver.js';
import { BRIDGE_DRIVER_OPTIONS, resolveBridgeOptions, type BridgeDriverOptions } from './options.js';

export type { BridgeDriverOptions } from './options.js';
export type { BridgeNetworkOptions } from './network-settings.js';

/**
 * Registers the bridge driver, and with it the predefined network `bridge`,
 * in a netmode instance's container.
 *
 * @throws ERR_INVALID_CONFIG for contradictory or malformed options (`bridge`
 * with `bip`, a bad MTU, …), a `firewall` no backend is registered under,
 * and `icc: false` with a backend that cannot enforce it (`none`).
 */
export function registerBridgeDriver(container: DependencyContainer, options: BridgeDriverOptions = {}): void {
  const resolved = resolveBridgeOptions(options);
  // Checked here, where the error keeps its code: an error thrown while the
  // container constructs the driver reaches the caller as tsyringe's plain Error.
  const firewall =
    resolved.firewall === undefined
      ? container.resolve<Firewall>(FIREWALL)
      : container.resolve<FirewallRegistry>(FIREWALL_REGISTRY).get(resolved.firewall, 'firewall');
  if (!resolved.icc && !firewall.capabilities.isolate) {
    throw invalidConfig('icc', `false needs a firewall that enforces it; the ${firewall.name} backend does not`);
  }
  container.register(BRIDGE_DRIVER_OPTIONS, { useValue: resolved });
  container.register(NETWORK_DRIVER, { useClass: BridgeDriver }, { lifecycle: Lifecycle.ContainerScoped });
}
