import { BASE_RULES, HOOK_CHAINS, OWNED_CHAINS, USER, managedChains } from './chains.js';
import type { OwnedRules } from './desired-rules.js';
import { RestoreScript } from './restore-script.js';
import { BASE_OWNER, ownerOf, ruleKey, type ChainRef, type IptablesTable } from './rule.js';
import type { SavedRuleset } from './saved-ruleset.js';

/**
 * Turning "what should be" into the smallest script that gets there from what
 * `iptables-save` showed: missing chains are created, and each owner's rules
 * in each chain are left alone when they already are exactly what is wanted,
 * in order and once each; otherwise all of that owner's rules in that chain
 * are deleted and the wanted ones added again, which also repairs a partial
 * or reordered set.
 *
 * @module
 */

/** Adds `-N` for each of the tables' owned chains that does not exist yet. */
export function ensureChains(saved: SavedRuleset, tables: readonly IptablesTable[], script: RestoreScript): void {
  for (const table of tables) {
    for (const ref of OWNED_CHAINS[table]) if (!saved.hasChain(ref)) script.createChain(ref);
  }
}

/** Adds what it takes for `wanted.owner`'s rules to become exactly `wanted`. */
export function reconcile(saved: SavedRuleset, wanted: OwnedRules, script: RestoreScript): void {
  for (const ref of unique(wanted.chains)) {
    const { top, end, present, exact } = compare(saved, wanted, ref);
    if (exact) continue;
    for (const args of present) script.deleteRule({ ...ref, args });
    // Inserting at 1 in reverse leaves the top rules in their wanted order.
    for (const rule of [...top].reverse()) script.insertRule(rule);
    for (const rule of end) script.appendRule(rule);
  }
}

/**
 * Adds the removal of the base of the given tables (jumps, base rules, owned
 * chains) and returns true; or adds nothing and returns false when an owned
 * chain still holds a rule that is not part of the base (a network's, an
 * endpoint's, or a stranger's). NETMODE-USER is deleted only when empty: its
 * rules are the administrator's.
 */
export function removeBase(saved: SavedRuleset, tables: readonly IptablesTable[], script: RestoreScript): boolean {
  const inUse = tables.some((table) => managedChains(table).some((ref) => saved.rules(ref).some((args) => ownerOf(args) !== BASE_OWNER)));
  if (inUse) return false;
  for (const table of tables) {
    for (const ref of [...HOOK_CHAINS[table], ...managedChains(table)]) {
      for (const args of saved.ownedBy(ref, BASE_OWNER)) script.deleteRule({ ...ref, args });
    }
    for (const ref of OWNED_CHAINS[table]) {
      if (!saved.hasChain(ref)) continue;
      if (ref === USER && saved.rules(ref).length > 0) continue;
      script.deleteChain(ref);
    }
  }
  return true;
}

/** What the base of the given tables lacks, one phrase each (`chain filter/NETMODE-CT`); empty when whole. */
export function baseGaps(saved: SavedRuleset, tables: readonly IptablesTable[]): string[] {
  return tables.flatMap((table) => [
    ...OWNED_CHAINS[table].filter((ref) => !saved.hasChain(ref)).map((ref) => `chain ${ref.table}/${ref.chain}`),
    ...BASE_RULES[table]
      .filter((rule) => !saved.rules(rule).some((args) => ruleKey(args) === ruleKey(rule.args)))
      .map((rule) => `rule ${rule.table}/${rule.chain} ${rule.args.join(' ')}`),
  ]);
}

/** Whether the base of the given tables is complete: every owned chain and every base rule. */
export function hasBase(saved: SavedRuleset, tables: readonly IptablesTable[]): boolean {
  return baseGaps(saved, tables).length === 0;
}

/** Whether any owned chain exists. */
export function anyOwnedChain(saved: SavedRuleset, tables: readonly IptablesTable[]): boolean {
  return tables.some((table) => OWNED_CHAINS[table].some((ref) => saved.hasChain(ref)));
}

/** The comments of every rule in the owned chains and the hook chains. */
export function ruleOwners(saved: SavedRuleset, tables: readonly IptablesTable[]): Set<string> {
  const owners = new Set<string>();
  for (const table of tables) {
    for (const ref of [...HOOK_CHAINS[table], ...OWNED_CHAINS[table]]) {
      for (const args of saved.rules(ref)) {
        const owner = ownerOf(args);
        if (owner !== undefined) owners.add(owner);
      }
    }
  }
  return owners;
}

/** The chains where `wanted.owner`'s rules are not exactly `wanted` (what {@link reconcile} would rewrite), one phrase each. */
export function ownedGaps(saved: SavedRuleset, wanted: OwnedRules): string[] {
  return unique(wanted.chains)
    .filter((ref) => !compare(saved, wanted, ref).exact)
    .map((ref) => `rules of ${wanted.owner} in ${ref.table} ${ref.chain}`);
}

/** The owner's wanted rules of one chain against those it has there. */
function compare(saved: SavedRuleset, wanted: OwnedRules, ref: ChainRef) {
  const inChain = (rule: ChainRef) => rule.table === ref.table && rule.chain === ref.chain;
  const top = wanted.top.filter(inChain);
  const end = wanted.end.filter(inChain);
  const present = saved.ownedBy(ref, wanted.owner);
  const want = [...top, ...end].map((rule) => ruleKey(rule.args));
  const have = present.map(ruleKey);
  return { top, end, present, exact: want.length === have.length && want.every((key, i) => key === have[i]) };
}

function unique(chains: readonly ChainRef[]): ChainRef[] {
  const seen = new Set<string>();
  return chains.filter((ref) => {
    const key = `${ref.table}/${ref.chain}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
