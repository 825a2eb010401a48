import { ErrorCode, NetModeError, errorMessage } from '../errors.js';
import type { Cidr, IpAddress } from '../net/address.js';
import { cidrContains, formatCidr, parseAddress, parseNetwork } from '../net/address.js';
import { UnreadableRecord, type StateTransaction } from '../store/state-store.js';

/** The state-store prefix under which IPAM keeps one record per subnet. */
export const SUBNETS_PREFIX = 'ipam/subnets';

/**
 * The persisted state of one allocated subnet: its configuration, its owner,
 * where round-robin allocation stopped, and every address lease. Only strings,
 * so the record is plain JSON.
 */
export interface SubnetRecord {
  /** The subnet, canonical CIDR. */
  readonly subnet: string;
  /** The gateway, canonical address; never leased. */
  readonly gateway: string;
  /** The CIDR dynamic addresses come from, when set. */
  readonly ipRange?: string;
  /** Who holds the subnet. */
  readonly owner: string;
  /** The address most recently handed out dynamically; the next search starts after it. */
  readonly lastAllocated?: string;
  /**
   * Leased addresses to their owners. Keys are canonical address text, which
   * is what lets IPAM look a candidate up by its text.
   */
  readonly leases: Readonly<Record<string, string>>;
}

/**
 * The state key of a subnet's record. The canonical CIDR is unique, and `:`
 * and `/` (not allowed in keys) become `-` and `_`, which canonical CIDRs
 * never contain, so the mapping is one-to-one. The family in front keeps IPv6
 * keys such as `::/64` starting with a digit, as keys must.
 */
export function subnetKey(cidr: Cidr): string {
  const text = formatCidr(cidr).replaceAll(':', '-').replace('/', '_');
  return `${SUBNETS_PREFIX}/${cidr.family}-${text}`;
}

/** A subnet record read back from the store, with its fields parsed. */
export interface LoadedSubnet {
  /** The record as stored. */
  readonly record: SubnetRecord;
  /** The subnet. */
  readonly cidr: Cidr;
  /** The gateway. */
  readonly gateway: IpAddress;
  /** Where dynamic addresses come from: the ipRange, else the whole subnet. */
  readonly range: Cidr;
  /** The address most recently handed out dynamically, when there is one. */
  readonly last?: bigint;
}

/** The record of `cidr`, or `undefined` when IPAM has not allocated it. */
export async function readSubnet(tx: StateTransaction, cidr: Cidr): Promise<LoadedSubnet | undefined> {
  const key = subnetKey(cidr);
  const value = await tx.get<unknown>(key);
  return value === undefined ? undefined : loadRecord(key, value, tx.locate?.(key));
}

/** Every subnet record. */
export async function readSubnets(tx: StateTransaction): Promise<LoadedSubnet[]> {
  const entries = await tx.list<unknown>(SUBNETS_PREFIX);
  return entries.map((entry) => loadRecord(entry.key, entry.value, tx.locate?.(entry.key)));
}

/** Stores `record` under its subnet's key when the transaction commits. */
export function writeSubnet(tx: StateTransaction, cidr: Cidr, record: SubnetRecord): void {
  tx.put(subnetKey(cidr), record);
}

// A record is read back as whatever JSON is on disk; a damaged one must stop
// IPAM rather than let it hand out addresses from a half-understood lease set.
function loadRecord(key: string, value: unknown, location?: string): LoadedSubnet {
  if (value instanceof UnreadableRecord) throw corrupt(key, `it is not JSON (${value.reason})`, undefined, location);
  if (!hasRecordShape(value)) throw corrupt(key, 'its fields have the wrong types', undefined, location);
  try {
    const cidr = parseNetwork(value.subnet, 'subnet');
    const gateway = parseAddress(value.gateway, 'gateway');
    const range = value.ipRange === undefined ? cidr : parseNetwork(value.ipRange, 'ipRange');
    if (subnetKey(cidr) !== key) throw corrupt(key, `it holds subnet ${value.subnet}`, undefined, location);
    const last = value.lastAllocated === undefined ? undefined : parseAddress(value.lastAllocated, 'lastAllocated').value;
    return { record: value, cidr, gateway, range, ...(last === undefined ? {} : { last }) };
  } catch (error) {
    if (error instanceof NetModeError && error.code === ErrorCode.STATE_CORRUPT) throw error;
    throw corrupt(key, errorMessage(error), error, location);
  }
}

/**
 * The leases of a loaded subnet with their numeric values, checked: each key
 * must be a canonical address inside the subnet.
 *
 * @throws NetModeError ERR_STATE_CORRUPT on a key that is not.
 */
export function parseLeases(loaded: LoadedSubnet): { address: string; owner: string; value: bigint }[] {
  const key = subnetKey(loaded.cidr);
  return Object.entries(loaded.record.leases).map(([address, owner]) => {
    let parsed: IpAddress;
    try {
      parsed = parseAddress(address, 'lease');
    } catch (error) {
      throw corrupt(key, errorMessage(error), error);
    }
    if (parsed.text !== address || !cidrContains(loaded.cidr, parsed)) {
      throw corrupt(key, `lease ${JSON.stringify(address)} is not a canonical address inside ${loaded.record.subnet}`);
    }
    return { address, owner, value: parsed.value };
  });
}

function hasRecordShape(value: unknown): value is SubnetRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Partial<Record<keyof SubnetRecord, unknown>>;
  const leases = record.leases;
  return (
    typeof record.subnet === 'string' &&
    typeof record.gateway === 'string' &&
    typeof record.owner === 'string' &&
    (record.ipRange === undefined || typeof record.ipRange === 'string') &&
    (record.lastAllocated === undefined || typeof record.lastAllocated === 'string') &&
    typeof leases === 'object' &&
    leases !== null &&
    !Array.isArray(leases) &&
    Object.values(leases).every((owner) => typeof owner === 'string')
  );
}

function corrupt(key: string, why: string, cause?: unknown, location?: string): NetModeError {
  const where = location === undefined ? `state record ${key}` : `state file ${location}`;
  return new NetModeError(ErrorCode.STATE_CORRUPT, `${where} is not a valid IPAM subnet record: ${why}`, {
    cause,
    context: { key, ...(location === undefined ? {} : { path: location }) },
  });
}
