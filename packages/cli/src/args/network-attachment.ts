import { usage, type CliError } from '../cli-error.js';
import { gwPriorityOf } from './gw-priority.js';

/** One `--net` of `run`: a network, and the options of the container's endpoint on it. */
export interface NetworkAttachment {
  /** `bridge`, `host`, `none`, `container:NAME` or a network's name. */
  readonly name: string;
  /** A static address on it. */
  readonly ip?: string;
  /** A static MAC address on it. */
  readonly mac?: string;
  /** Other names of the container on it. */
  readonly aliases: readonly string[];
  /** Its gateway priority. */
  readonly gwPriority?: number;
}

// Keys of Docker's syntax that netmode has no option for: refused by name
// rather than as unknown, so that a line copied from docker says why.
const NOT_SUPPORTED = ['ip6', 'link-local-ip', 'driver-opt'];

const SYNTAX = 'name=NETWORK[,alias=NAME]…[,ip=ADDRESS][,mac-address=MAC][,gw-priority=N]';

/**
 * Parses one `--net` value: a network's name, or Docker's advanced syntax
 * `name=NETWORK,alias=NAME,ip=ADDRESS,mac-address=MAC,gw-priority=N`, which
 * gives each network of a container its own options (a name never holds
 * `=`). Only the syntax is checked here; the values are the SDK's to check.
 * Throws a usage error quoting the value.
 */
export function parseNetworkAttachment(raw: string): NetworkAttachment {
  if (!raw.includes('=')) return { name: raw, aliases: [] };
  const fail = (why: string): CliError => usage(`--net ${JSON.stringify(raw)}: ${why}; expected ${SYNTAX}`);
  const fields = new Map<string, string>();
  const aliases: string[] = [];
  for (const field of raw.split(',')) {
    const eq = field.indexOf('=');
    if (eq <= 0) throw fail(`${JSON.stringify(field)} is not key=value`);
    const key = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (value === '') throw fail(`${key} has no value`);
    if (key === 'alias') {
      aliases.push(value);
      continue;
    }
    if (NOT_SUPPORTED.includes(key)) throw fail(`${key} is not supported by netmode`);
    if (!['name', 'ip', 'mac-address', 'gw-priority'].includes(key)) throw fail(`unknown key ${JSON.stringify(key)}`);
    if (fields.has(key)) throw fail(`${key} is given twice`);
    fields.set(key, value);
  }
  const name = fields.get('name');
  if (name === undefined) throw fail('name is missing');
  const ip = fields.get('ip');
  const mac = fields.get('mac-address');
  const priority = fields.get('gw-priority');
  const gwPriority = priority === undefined ? undefined : gwPriorityOf(priority);
  if (priority !== undefined && gwPriority === undefined) throw fail(`gw-priority ${JSON.stringify(priority)} is not a whole number`);
  return {
    name,
    aliases,
    ...(ip === undefined ? {} : { ip }),
    ...(mac === undefined ? {} : { mac }),
    ...(gwPriority === undefined ? {} : { gwPriority }),
  };
}
