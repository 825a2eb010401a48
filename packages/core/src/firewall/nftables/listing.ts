import { ErrorCode, NetModeError } from '../../errors.js';

/**
 * Reading `nft -j list table inet netmode`: only what the backend decides
 * on (which objects exist, their elements and owners, the rules'
 * comments), checked field by field rather than trusted.
 *
 * @module
 */

/** One element of a listed set or map. */
export interface ListedElement {
  /** The key in the syntax netmode's scripts write it (`"br0" . "br0"`, `10.88.0.0/16`, `tcp . 8080`). */
  readonly key: string;
  /** Its comment: the owner. */
  readonly comment: string | undefined;
}

/** What a listing of netmode's table holds. */
export interface TableListing {
  /** Set and map names, each with its elements (none in a terse listing). */
  readonly sets: ReadonlyMap<string, readonly ListedElement[]>;
  /** Chain names. */
  readonly chains: ReadonlySet<string>;
  /** Every rule: its chain and comment. */
  readonly rules: readonly { readonly chain: string; readonly comment: string | undefined }[];
}

type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

function isObject(value: Json | undefined): value is { readonly [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: Json | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * Parses the JSON nft prints for `-j list table`.
 *
 * @throws NetModeError ERR_COMMAND_FAILED when the output is not such a listing.
 */
export function parseTableListing(stdout: string): TableListing {
  let parsed: Json;
  try {
    parsed = JSON.parse(stdout) as Json;
  } catch (error) {
    throw unreadable(stdout, error);
  }
  const entries = isObject(parsed) ? parsed['nftables'] : undefined;
  if (!Array.isArray(entries)) throw unreadable(stdout);
  const sets = new Map<string, ListedElement[]>();
  const chains = new Set<string>();
  const rules: { chain: string; comment: string | undefined }[] = [];
  for (const entry of entries as readonly Json[]) {
    if (!isObject(entry)) continue;
    const set = entry['set'] ?? entry['map'];
    const chain = entry['chain'];
    const rule = entry['rule'];
    if (isObject(set) && text(set['name'])) {
      const listed = Array.isArray(set['elem']) ? (set['elem'] as readonly Json[]).map((e) => listedElement(set, e)) : [];
      sets.set(text(set['name']) as string, listed);
    } else if (isObject(chain) && text(chain['name'])) {
      chains.add(text(chain['name']) as string);
    } else if (isObject(rule) && text(rule['chain'])) {
      rules.push({ chain: text(rule['chain']) as string, comment: text(rule['comment']) });
    }
  }
  return { sets, chains, rules };
}

/**
 * One element as nft's JSON shows it (`{"elem": {"val": …, "comment": …}}`,
 * or the bare value when it has no comment; a map element is `[element,
 * value]`), with its key written back in script syntax. Strings of an
 * `ifname` field are quoted, as the scripts quote them; an interval set shows
 * a /32 as the bare address, which the scripts write with its prefix length.
 */
function listedElement(set: { readonly [key: string]: Json }, entry: Json): ListedElement {
  const element = Array.isArray(entry) ? (entry as readonly Json[])[0] : entry;
  const wrapped = isObject(element) && isObject(element['elem']) ? element['elem'] : undefined;
  const value = wrapped ? wrapped['val'] : element;
  const types = Array.isArray(set['type']) ? (set['type'] as readonly Json[]) : [set['type'] ?? null];
  const interval = Array.isArray(set['flags']) && (set['flags'] as readonly Json[]).includes('interval');
  const parts = isObject(value) && Array.isArray(value['concat']) ? (value['concat'] as readonly Json[]) : [value ?? null];
  const key = parts.map((part, i) => keyPart(part, types[i], interval)).join(' . ');
  return { key, comment: wrapped ? text(wrapped['comment']) : undefined };
}

function keyPart(part: Json, type: Json | undefined, interval: boolean): string {
  if (typeof part === 'number') return String(part);
  if (typeof part === 'string') {
    if (type === 'ifname') return `"${part}"`;
    return interval ? `${part}/32` : part;
  }
  const prefix = isObject(part) ? part['prefix'] : undefined;
  if (isObject(prefix)) return `${String(prefix['addr'])}/${String(prefix['len'])}`;
  // Ranges and other forms: netmode never writes them, so they match no key of its own.
  return JSON.stringify(part);
}

function unreadable(stdout: string, cause?: unknown): NetModeError {
  return new NetModeError(ErrorCode.COMMAND_FAILED, 'nft printed a table listing netmode cannot read', {
    cause,
    context: { stdout: stdout.slice(0, 2000) },
  });
}
