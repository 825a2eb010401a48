import { ErrorCode, NetModeError, isNetModeError } from '../../errors.js';
import type { FirewallScope } from '../firewall.js';
import type { TableListing } from './listing.js';
import { applyScript, readTable } from './nft-command.js';

/**
 * A table netmode owns whole, described once: its sets, its chains and the
 * rules of each. From the description come the transaction that creates it,
 * the gaps a listing shows, and the transaction that fills them. Both of
 * netmode's tables (`inet netmode`, `bridge netmode`) are such tables.
 *
 * @module
 */

/** The comment on every set, chain and rule a table description creates. */
export const TABLE_OWNER = 'netmode';

/** One set or map of an owned table. */
export interface SetDefinition {
  /** `set` or `map`. */
  readonly kind: 'set' | 'map';
  /** Its name. */
  readonly name: string;
  /** What goes between the braces before the comment: `type …; flags …;`. */
  readonly body: string;
}

/** One chain of an owned table, with its rules in order. */
export interface ChainDefinition {
  /** Its name. */
  readonly name: string;
  /** The `type … hook … priority …; policy …;` part; absent for a regular chain. */
  readonly hook?: string;
  /** Its rules, in order, without the comment (each gets {@link TABLE_OWNER}). */
  readonly rules: readonly string[];
}

/** An owned table: everything in it but the elements of its sets. */
export interface OwnedTable {
  /** The table as nft names it: family and name (`inet netmode`). */
  readonly table: string;
  /** Its sets and maps, created first. */
  readonly sets: readonly SetDefinition[];
  /** Its chains, created in this order, then their rules. */
  readonly chains: readonly ChainDefinition[];
  /**
   * A regular chain left to the administrator: created when missing, its
   * rules never flushed, compared or written. Its definition has no rules.
   */
  readonly userChain?: string;
}

/** What a listing of an owned table lacks. */
export interface TableGaps {
  /** Sets and maps that are missing. */
  readonly sets: readonly SetDefinition[];
  /** Chains that are missing. */
  readonly chains: readonly ChainDefinition[];
  /**
   * Chains (missing ones included) whose rules carrying {@link TABLE_OWNER}
   * are not all there: each is filled again whole. Never the user chain.
   */
  readonly rules: readonly ChainDefinition[];
}

/**
 * The transaction that creates the table. It starts with `add table` (a
 * no-op when the table exists) and creates everything else with `create`,
 * which fails with "File exists" when the object exists: when two processes
 * race, the second transaction fails as a whole, so no rule is ever
 * duplicated.
 */
export function createScript(owned: OwnedTable): string {
  const lines = [`add table ${owned.table}`];
  for (const set of owned.sets) lines.push(`create ${setLine(owned, set)}`);
  for (const chain of owned.chains) lines.push(`create ${chainLine(owned, chain)}`);
  for (const chain of owned.chains) lines.push(...ruleLines(owned, chain));
  return `${lines.join('\n')}\n`;
}

/**
 * The gaps of a listed table: missing sets and chains, and chains with fewer
 * or more rules carrying {@link TABLE_OWNER} than the description holds (a
 * rule deleted by hand, or a chain someone flushed).
 */
export function tableGaps(owned: OwnedTable, listing: TableListing): TableGaps {
  const sets = owned.sets.filter((set) => !listing.sets.has(set.name));
  const chains = owned.chains.filter((chain) => !listing.chains.has(chain.name));
  const rules = owned.chains.filter((chain) => {
    if (chain.name === owned.userChain) return false;
    const found = listing.rules.filter((r) => r.chain === chain.name && r.comment === TABLE_OWNER).length;
    return found !== chain.rules.length;
  });
  return { sets, chains, rules };
}

/** Whether the table lacks nothing. */
export function noGaps(gaps: TableGaps): boolean {
  return gaps.sets.length === 0 && gaps.chains.length === 0 && gaps.rules.length === 0;
}

/** The gaps as phrases (`set bridges`, `chain forward`, `rules of chain output`), for messages. */
export function describeGaps(gaps: TableGaps): string[] {
  return [
    ...gaps.sets.map((set) => `${set.kind} ${set.name}`),
    ...gaps.chains.map((chain) => `chain ${chain.name}`),
    ...gaps.rules.map((chain) => `rules of chain ${chain.name}`),
  ];
}

/**
 * The one transaction that fills the gaps: `add` for each missing set and
 * chain (a no-op if another process added it meanwhile), then, for each
 * chain whose rules are not whole, `flush chain` (when it exists) and all
 * its rules in order. The user chain's rules are never touched. Two
 * processes repairing at once end with each rule once: each transaction
 * empties the chain before it fills it.
 */
export function repairScript(owned: OwnedTable, gaps: TableGaps): string {
  const lines: string[] = [];
  for (const set of gaps.sets) lines.push(`add ${setLine(owned, set)}`);
  for (const chain of gaps.chains) lines.push(`add ${chainLine(owned, chain)}`);
  for (const chain of gaps.rules) {
    if (!gaps.chains.includes(chain)) lines.push(`flush chain ${owned.table} ${chain.name}`);
    lines.push(...ruleLines(owned, chain));
  }
  return lines.map((line) => `${line}\n`).join('');
}

/**
 * Makes the table whole: creates it when missing (race-safe, see
 * {@link createScript}), fills its gaps when it exists without something
 * ({@link repairScript}), and does nothing, after one terse listing (`-t`,
 * no elements, so its size does not grow with the endpoints), when it is
 * whole. A refused transaction gets one more look and one more try: another
 * process may have created or changed the table in between.
 *
 * @throws NetModeError ERR_COMMAND_FAILED when the table still has gaps
 * after the second try, with the gaps in `context.missing`.
 */
export async function ensureOwnedTable(scope: FirewallScope, owned: OwnedTable): Promise<void> {
  let refused: unknown;
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const listing = await readTable(scope, owned.table, ['-t']);
    const gaps = listing === null ? undefined : tableGaps(owned, listing);
    if (gaps !== undefined && noGaps(gaps)) return;
    try {
      await applyScript(scope, gaps === undefined ? createScript(owned) : repairScript(owned, gaps));
      if (gaps === undefined) return;
      // A repair is checked: it must have left nothing missing.
    } catch (error) {
      // A refused transaction (File exists, No such file) is worth a second look; a timeout or an abort is not.
      if (!isNetModeError(error, ErrorCode.COMMAND_FAILED)) throw error;
      refused = error;
    }
  }
  const listing = await readTable(scope, owned.table, ['-t']);
  const gaps = listing === null ? undefined : tableGaps(owned, listing);
  if (gaps !== undefined && noGaps(gaps)) return;
  const missing = gaps === undefined ? ['the table'] : describeGaps(gaps);
  throw new NetModeError(ErrorCode.COMMAND_FAILED, `table ${owned.table} could not be made whole: it lacks ${missing.join(', ')}`, {
    cause: refused,
    context: { missing },
  });
}

function setLine(owned: OwnedTable, set: SetDefinition): string {
  return `${set.kind} ${owned.table} ${set.name} { ${set.body} comment "${TABLE_OWNER}"; }`;
}

function chainLine(owned: OwnedTable, chain: ChainDefinition): string {
  const hook = chain.hook === undefined ? '' : `${chain.hook} `;
  return `chain ${owned.table} ${chain.name} { ${hook}comment "${TABLE_OWNER}"; }`;
}

function ruleLines(owned: OwnedTable, chain: ChainDefinition): string[] {
  return chain.rules.map((rule) => `add rule ${owned.table} ${chain.name} ${rule} comment "${TABLE_OWNER}"`);
}
