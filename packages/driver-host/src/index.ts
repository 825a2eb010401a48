/**
 * `@netmode/driver-host`: Docker's `host` network mode for netmode. Register
 * it with `createNetMode({ drivers: [registerHostDriver] })`; then
 * `connect(id, 'host')` returns the host namespace (the manager's
 * `hostNetns`) as the container's sandbox. Nothing is created or removed.
 *
 * @module
 */
import { Lifecycle, NETWORK_DRIVER, type DependencyContainer } from '@netmode/core';
import { HostDriver } from './host-driver.js';
import { HOST_DRIVER_OPTIONS, resolveHostOptions, type HostDriverOptions } from './options.js';

export type { HostDriverOptions } from './options.js';

/**
 * Registers the `host` driver, and with it the predefined network `host`, in
 * a netmode instance's container.
 *
 * @throws ERR_INVALID_CONFIG for an unknown `publishedPorts` value.
 */
export function registerHostDriver(container: DependencyContainer, options: HostDriverOptions = {}): void {
  container.register(HOST_DRIVER_OPTIONS, { useValue: resolveHostOptions(options) });
  container.register(NETWORK_DRIVER, { useClass: HostDriver }, { lifecycle: Lifecycle.ContainerScoped });
}
