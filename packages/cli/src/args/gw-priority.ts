import { usage } from '../cli-error.js';

/**
 * Parses `--gw-priority N` (Docker 28's): a whole number, negative too. The
 * default route of a container on several networks comes from the network
 * with the highest.
 */
export function parseGwPriority(raw: string): number {
  const value = Number(raw);
  if (!/^-?[0-9]+$/.test(raw) || !Number.isSafeInteger(value)) {
    // parseArgs takes `--gw-priority -1` for a missing value, so say how to write one.
    throw usage(`--gw-priority ${JSON.stringify(raw)}: must be a whole number (a negative one as --gw-priority=-1)`);
  }
  return value;
}
