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
import { NETWORK_DRIVER } from '@netmode/core';
import { Lifecycle, type DependencyContainer } from 'tsyringe';
import { BridgeDriver } from './bridge-driver.js';
import { BRIDGE_DRIVER_OPTIONS, resolveBridgeOptions, type BridgeDriverOptions } from './options.js';

export type { BridgeDriverOptions } from './options.js';
export type { BridgeNetworkOptions } from './network-settings.js';

/**
 * Registers the bridge driver, and with it the predefined network `bridge`,
 * in a netmode instance's container.
 *
 * @throws ERR_INVALID_CONFIG for contradictory or malformed options (`bridge`
 * with `bip`, `icc: false` with `firewall: 'none'`, a bad MTU, …).
 */
export function registerBridgeDriver(container: DependencyContainer, options: BridgeDriverOptions = {}): void {
  container.register(BRIDGE_DRIVER_OPTIONS, { useValue: resolveBridgeOptions(options) });
  container.register(NETWORK_DRIVER, { useClass: BridgeDriver }, { lifecycle: Lifecycle.ContainerScoped });
}
