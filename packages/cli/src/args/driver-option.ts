import { usage } from '../cli-error.js';

// Docker's names for the bridge driver's options, so that `-o` lines copied
// from docker work unchanged.
const DOCKER_OPTION_NAMES: Readonly<Record<string, string>> = {
  'com.docker.network.bridge.name': 'bridgeName',
  'com.docker.network.driver.mtu': 'mtu',
  'com.docker.network.bridge.enable_icc': 'icc',
  'com.docker.network.bridge.enable_ip_masquerade': 'ipMasq',
};

/**
 * Parses `-o key=value` into a driver option: `true`/`false` become
 * booleans and whole numbers become numbers; the driver checks the rest.
 */
export function parseDriverOption(text: string): [string, unknown] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw usage(`netmode network create: -o ${JSON.stringify(text)} must be key=value`);
  const key = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  const value = raw === 'true' ? true : raw === 'false' ? false : /^[0-9]+$/.test(raw) ? Number(raw) : raw;
  return [DOCKER_OPTION_NAMES[key] ?? key, value];
}
