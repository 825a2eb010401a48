/**
 * `@netmode/example-driver-macvlan`: Docker's `macvlan` network driver for
 * netmode, written as a third party would write it, outside the four
 * built-in modes. Register it beside the others with
 * `createNetMode({ drivers: [registerMacvlanDriver] })`, create a network on
 * a parent interface of the host,
 *
 * ```ts
 * await netmode.createNetwork({
 *   name: 'lan',
 *   driver: 'macvlan',
 *   subnets: [{ subnet: '192.168.1.0/24', gateway: '192.168.1.1', ipRange: '192.168.1.192/27' }],
 *   options: { parent: 'eth0' },
 * });
 * ```
 *
 * then `connect(id, 'lan')` gives the container a new namespace whose `eth0`
 * is a macvlan on `eth0` of the host, with its own MAC, an address of the
 * LAN and a default route via the LAN's router.
 *
 * @module
 */
import { Lifecycle, NETWORK_DRIVER, type DependencyContainer } from '@netmode/core';
import { MacvlanDriver } from './macvlan-driver.js';
import { MACVLAN_DRIVER_OPTIONS, resolveMacvlanOptions, type MacvlanDriverOptions } from './options.js';

export type { MacvlanDriverOptions, MacvlanMode, MacvlanNetworkOptions } from './options.js';

/**
 * Registers the macvlan driver in a netmode instance's container. It has no
 * predefined network: make one with `createNetwork({ driver: 'macvlan', … })`.
 *
 * @throws ERR_INVALID_CONFIG for an unknown `defaultMode`.
 */
export function registerMacvlanDriver(container: DependencyContainer, options: MacvlanDriverOptions = {}): void {
  container.register(MACVLAN_DRIVER_OPTIONS, { useValue: resolveMacvlanOptions(options) });
  container.register(NETWORK_DRIVER, { useClass: MacvlanDriver }, { lifecycle: Lifecycle.ContainerScoped });
}
