import { usage } from '../cli-error.js';

/**
 * A gateway priority (Docker 28's `--gw-priority`) from its text: a whole
 * number, negative too; undefined when the text is none. The default route
 * of a container on several networks goes through the network with the
 * highest.
 */
export function gwPriorityOf(text: string): number | undefined {
  const value = Number(text);
  return /^-?[0-9]+$/.test(text) && Number.isSafeInteger(value) ? value : undefined;
}

/** Parses `--gw-priority N`; a usage error when N is no whole number. */
export function parseGwPriority(raw: string): number {
  const value = gwPriorityOf(raw);
  // parseArgs takes `--gw-priority -1` for a missing value, so say how to write one.
  if (value === undefined) throw usage(`--gw-priority ${JSON.stringify(raw)}: must be a whole number (a negative one as --gw-priority=-1)`);
  return value;
}
