/**
 * `@netmode/driver-none`: Docker's `none` network mode for netmode. Register
 * it with `createNetMode({ drivers: [registerNoneDriver] })`; then
 * `connect(id, 'none')` gives the container a new namespace with only `lo`,
 * up. Given `options.netns`, it brings `lo` up in that namespace instead and
 * never deletes it.
 *
 * @module
 */
import { Lifecycle, NETWORK_DRIVER, type DependencyContainer } from '@netmode/core';
import { NoneDriver } from './none-driver.js';

/** Options of the `none` driver. It has none today; the type keeps the registration signature uniform. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- empty on purpose: options added later keep the signature
export interface NoneDriverOptions {}

/**
 * Registers the `none` driver, and with it the predefined network `none`, in
 * a netmode instance's container.
 */
export function registerNoneDriver(container: DependencyContainer, _options: NoneDriverOptions = {}): void {
  container.register(NETWORK_DRIVER, { useClass: NoneDriver }, { lifecycle: Lifecycle.ContainerScoped });
}
