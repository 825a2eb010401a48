/**
 * `netmode-driver-ptp`: a routed point-to-point network driver for netmode,
 * like CNI's `ptp` plugin, written outside the netmode repository against
 * `@netmode/core`'s public entry only. Register it with
 * `createNetMode({ drivers: [registerPtpDriver] })`, create a network,
 *
 * ```ts
 * await netmode.createNetwork({ name: 'routed', driver: 'ptp', subnets: [{ subnet: '10.77.0.0/24' }] });
 * ```
 *
 * then `connect(id, 'routed')` gives the container a new namespace whose
 * `eth0` holds `10.77.0.2/32` with a default route via `10.77.0.1`, the
 * address the host end of its veth carries; the host routes `10.77.0.2` to
 * that veth. No bridge, no NAT.
 *
 * @module
 */
import { Lifecycle, NETWORK_DRIVER, type DependencyContainer } from '@netmode/core';
import { PTP_DRIVER_OPTIONS, resolvePtpOptions, type PtpDriverOptions } from './options.js';
import { PtpDriver } from './ptp-driver.js';

export type { PtpDriverOptions, PtpNetworkOptions } from './options.js';

/**
 * Registers the ptp driver in a netmode instance's container. It has no
 * predefined network: make one with `createNetwork({ driver: 'ptp', … })`.
 *
 * @throws ERR_INVALID_CONFIG for an `mtu` out of range or an `ipForward` that is not a boolean.
 */
export function registerPtpDriver(container: DependencyContainer, options: PtpDriverOptions = {}): void {
  container.register(PTP_DRIVER_OPTIONS, { useValue: resolvePtpOptions(options) });
  container.register(NETWORK_DRIVER, { useClass: PtpDriver }, { lifecycle: Lifecycle.ContainerScoped });
}
