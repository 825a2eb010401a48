import { invalidConfig } from '../errors.js';
import type { ConnectOptions, PortMapping } from '../model/endpoint.js';
import { validateNetnsRef } from '../model/netns-ref.js';
import { parseAddress } from '../net/address.js';
import { validateNameSettings } from '../names/settings.js';
import { assertInterfaceName, assertMacAddress, assertObjectName } from '../net/names.js';

/**
 * Checks the mode-independent shape of connect options: every value that
 * could reach a command line is well formed. Whether an option makes sense
 * for the mode is the driver's `validate()`.
 */
export function validateConnectOptions(options: ConnectOptions): void {
  if (options === null || typeof options !== 'object') throw invalidConfig('options', 'must be an object');
  if (options.netns !== undefined) {
    validateNetnsRef(options.netns, 'netns');
    // The caller's own namespace is no sandbox: configuring it would give the
    // container host networking under another mode's name.
    if (options.netns.kind === 'host') throw invalidConfig('netns', "cannot be the host namespace; use the 'host' mode");
  }
  if (options.ip !== undefined) parseAddress(options.ip, 'ip');
  if (options.mac !== undefined) assertMacAddress(options.mac, 'mac');
  if (options.ifname !== undefined) assertInterfaceName(options.ifname, 'ifname');
  if (options.gwPriority !== undefined && !Number.isSafeInteger(options.gwPriority)) {
    throw invalidConfig('gwPriority', `${JSON.stringify(options.gwPriority)} must be a whole number`);
  }
  if (options.aliases !== undefined) {
    if (!Array.isArray(options.aliases)) throw invalidConfig('aliases', 'must be an array of names');
    options.aliases.forEach((alias, index) => assertObjectName(alias, `aliases[${index}]`));
  }
  if (options.ports !== undefined && !Array.isArray(options.ports)) throw invalidConfig('ports', 'must be an array');
  options.ports?.forEach((port, index) => validatePort(port, `ports[${index}]`));
  validateLabels(options.labels);
  validateNameSettings(options);
}

/** Throws ERR_INVALID_CONFIG unless `labels` is absent or an object of strings. */
export function validateLabels(labels: unknown): void {
  if (labels === undefined) return;
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) throw invalidConfig('labels', 'must be an object of strings');
  for (const [key, value] of Object.entries(labels)) {
    if (typeof value !== 'string') throw invalidConfig(`labels.${key}`, 'must be a string');
  }
}

function validatePort(port: PortMapping, field: string): void {
  if (port === null || typeof port !== 'object') throw invalidConfig(field, 'must be an object');
  const count = port.count ?? 1;
  if (!Number.isInteger(count) || count < 1) throw invalidConfig(`${field}.count`, 'must be a whole number of at least 1');
  if (!isPort(port.containerPort, 1) || !isPort(port.containerPort + count - 1, 1)) {
    throw invalidConfig(`${field}.containerPort`, `${port.containerPort} (range of ${count}) must lie within 1-65535`);
  }
  const hostPort = port.hostPort ?? 0;
  if (!isPort(hostPort, 0) || (hostPort !== 0 && !isPort(hostPort + count - 1, 1))) {
    throw invalidConfig(`${field}.hostPort`, `${hostPort} (range of ${count}) must lie within 1-65535, or be 0 for an ephemeral port`);
  }
  if (port.protocol !== undefined && port.protocol !== 'tcp' && port.protocol !== 'udp') {
    throw invalidConfig(`${field}.protocol`, `${JSON.stringify(port.protocol)} must be tcp or udp`);
  }
  if (port.hostIp !== undefined) parseAddress(port.hostIp, `${field}.hostIp`);
}

function isPort(value: number, min: number): boolean {
  return Number.isInteger(value) && value >= min && value <= 65535;
}
