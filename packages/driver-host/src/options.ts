import { invalidConfig } from '@netmode/core';

/** Options of the `host` driver. */
export interface HostDriverOptions {
  /**
   * What to do with ports published in host mode. `warn` (default, as
   * Docker): discard them and emit a `warning` event. `reject`: refuse the
   * connect with ERR_INVALID_CONFIG.
   */
  readonly publishedPorts?: 'warn' | 'reject';
}

/** The host driver's options with defaults filled in. */
export type ResolvedHostOptions = Required<HostDriverOptions>;

/** DI token of the resolved options. */
export const HOST_DRIVER_OPTIONS = Symbol.for('netmode.driver-host.options');

/** Fills in defaults and checks values. */
export function resolveHostOptions(options: HostDriverOptions): ResolvedHostOptions {
  const publishedPorts = options.publishedPorts ?? 'warn';
  if (publishedPorts !== 'warn' && publishedPorts !== 'reject') {
    throw invalidConfig('publishedPorts', `must be 'warn' or 'reject', not ${JSON.stringify(publishedPorts)}`);
  }
  return { publishedPorts };
}
