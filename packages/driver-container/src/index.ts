/**
 * `@netmode/driver-container`: Docker's `container:NAME` network mode for
 * netmode. Register it with `createNetMode({ drivers: [registerContainerDriver, …] })`;
 * then `connect(id, 'container:web')` puts the container in `web`'s sandbox:
 * the same interfaces and addresses, `web` reachable over 127.0.0.1. A
 * target in host mode gives the host namespace.
 *
 * The sandbox is reference-counted: disconnecting `web` while others joined
 * it leaves its network in place (status `orphaned`, event
 * `sandbox:owner-lost`); `web` reconnecting on the same network takes it back
 * with the same address (`sandbox:owner-regained`); the last joiner to leave
 * an orphaned sandbox removes it.
 *
 * @module
 */
import { Lifecycle, NETWORK_DRIVER, type DependencyContainer } from '@netmode/core';
import { ContainerDriver } from './container-driver.js';

/** Options of the `container:NAME` driver. It has none today; the type keeps the registration signature uniform. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- empty on purpose: options added later keep the signature
export interface ContainerDriverOptions {}

/**
 * Registers the `container:NAME` driver (and its predefined network
 * `container`, which only `container:NAME` modes use) in a netmode
 * instance's container.
 */
export function registerContainerDriver(container: DependencyContainer, _options: ContainerDriverOptions = {}): void {
  container.register(NETWORK_DRIVER, { useClass: ContainerDriver }, { lifecycle: Lifecycle.ContainerScoped });
}
