import { ErrorCode, NetModeError, asNetModeError, isNetModeError, type ErrorContext } from '../../errors.js';
import {
  type Firewall,
  type FirewallBaseState,
  type FirewallCapabilities,
  type FirewallEndpoint,
  type FirewallNetwork,
  type FirewallOwner,
  type FirewallScope,
} from '../firewall.js';
import { ownerMark, parseOwnerMark } from '../../model/owner.js';
import { PortFilter } from '../port-filter.js';
import { assertOwnerId, validateFirewallEndpoint, validateFirewallNetwork } from '../validate.js';
import { BASE, TABLE, baseUnused } from './base.js';
import { endpointElements, networkElements, networkTeardownElements } from './elements.js';
import { applyScript, readTable, tableMissing } from './nft-command.js';
import { describeGaps, ensureOwnedTable, noGaps, tableGaps } from './owned-table.js';
import { NftScript, type NftElement } from './script.js';

/**
 * The nftables backend: one table `inet netmode` whose chains and rules are
 * created once and never change; networks and endpoints are elements of its
 * sets and maps, each commented with its owner (`network:ID`,
 * `endpoint:ID`). Every change is one `nft -f -` transaction, so it applies
 * whole or not at all; every input is validated before any process starts.
 */
export class NftablesFirewall implements Firewall {
  /** Always `nftables`. */
  readonly name = 'nftables';
  /** It enforces everything netmode asks of a firewall. */
  readonly capabilities: FirewallCapabilities = { publishPorts: true, masquerade: true, isolate: true };

  readonly #ports = new PortFilter();

  /**
   * Creates the base if it is missing (racing processes are fine: the loser's
   * transaction fails whole and it finds the winner's base), or puts back
   * what someone deleted from it (a set, a chain, a rule: each chain that
   * lost a rule is filled again whole, in one transaction; the `user`
   * chain's rules are never touched), then adds the network's elements.
   * Looks at the table first: one terse listing (`nft -j -t`, no elements),
   * whose size does not grow with the number of endpoints.
   */
  async setupNetwork(scope: FirewallScope, network: FirewallNetwork): Promise<void> {
    const valid = validateFirewallNetwork(network);
    const context = { networkId: valid.networkId, bridge: valid.bridge };
    try {
      await ensureOwnedTable(scope, BASE);
      if (!valid.icc) await this.#ports.setupNetwork(scope, valid.bridge);
      await applyScript(scope, addAll(networkElements(valid)));
    } catch (error) {
      throw withContext(error, context);
    }
  }

  /**
   * Removes every element the network could own (whatever its flags), in one
   * transaction. Never removes the base, which other networks share; succeeds
   * when the elements or the whole table are already gone. When another
   * network now holds an overlapping subnet, looks at the table and removes
   * only what still carries this network's comment.
   */
  async teardownNetwork(scope: FirewallScope, network: FirewallNetwork): Promise<void> {
    const valid = validateFirewallNetwork(network);
    await this.#remove(scope, networkTeardownElements(valid), { networkId: valid.networkId, bridge: valid.bridge });
  }

  /**
   * Adds one map element per published port, in one transaction, after
   * isolating the bridge port of an endpoint on an `icc: false` network (one
   * transaction more, in `bridge netmode`); starts no process when there is
   * neither. Assumes the network was set up (the base
   * exists) and never lists the table, so it costs the same with a thousand
   * endpoints as with one.
   */
  async setupEndpoint(scope: FirewallScope, endpoint: FirewallEndpoint): Promise<void> {
    const valid = validateFirewallEndpoint(endpoint);
    const elements = endpointElements(valid);
    try {
      await this.#ports.setupEndpoint(scope, endpoint, async () => {
        if (elements.length > 0) await applyScript(scope, addAll(elements));
      });
    } catch (error) {
      throw withContext(error, { endpointId: valid.endpointId, networkId: valid.networkId });
    }
  }

  /**
   * Removes the endpoint's map elements in one transaction, then its port
   * isolation; succeeds when they, or the tables, are gone. When another endpoint now holds one of its
   * ports, looks at the table and removes only what still carries this
   * endpoint's comment.
   */
  async teardownEndpoint(scope: FirewallScope, endpoint: FirewallEndpoint): Promise<void> {
    const valid = validateFirewallEndpoint(endpoint);
    const context = { endpointId: valid.endpointId, networkId: valid.networkId };
    try {
      await this.#ports.teardownEndpoint(scope, endpoint, () => this.#remove(scope, endpointElements(valid), context));
    } catch (error) {
      throw withContext(error, context);
    }
  }

  /**
   * Removes every element commented with the owner, from both tables, in
   * one transaction each; nothing when the tables are gone.
   */
  async teardownOwner(scope: FirewallScope, owner: FirewallOwner): Promise<void> {
    assertOwnerId(owner.id, 'owner id');
    try {
      await this.#sweepOwner(scope, ownerMark(owner));
      if (owner.kind === 'endpoint') await this.#ports.sweep(scope, owner.id);
    } catch (error) {
      throw withContext(error, { owner: ownerMark(owner) });
    }
  }

  /** Every owner of an element of `inet netmode` or `bridge netmode` (one full listing each). */
  async owners(scope: FirewallScope): Promise<FirewallOwner[]> {
    const listing = await readTable(scope, TABLE, []);
    const marks = listing === null ? [] : [...listing.sets.values()].flatMap((elements) => elements.map((e) => e.comment));
    const owners = [...new Set(marks)].flatMap((mark) => parseOwnerMark(mark) ?? []);
    const seen = new Set(owners.map(ownerMark));
    return [...owners, ...(await this.#ports.owners(scope)).filter((o) => !seen.has(ownerMark(o)))];
  }

  /** Whether `inet netmode` exists, and what its base lacks (one terse listing). */
  async check(scope: FirewallScope): Promise<FirewallBaseState> {
    const listing = await readTable(scope, TABLE, ['-t']);
    return listing === null ? { present: false, gaps: [] } : { present: true, gaps: describeGaps(tableGaps(BASE, listing)) };
  }

  /**
   * Gaps in the base, and the network's and the endpoint's elements missing
   * (matched by key and owner comment, as teardown matches them): one full
   * listing of the table.
   */
  async gaps(scope: FirewallScope, network: FirewallNetwork, endpoint?: FirewallEndpoint): Promise<readonly string[]> {
    const wanted = [
      ...networkElements(validateFirewallNetwork(network)),
      ...(endpoint ? endpointElements(validateFirewallEndpoint(endpoint)) : []),
    ];
    const listing = await readTable(scope, TABLE, []);
    if (listing === null) return [`table ${TABLE}`];
    const missing = wanted.filter((w) => !(listing.sets.get(w.set) ?? []).some((e) => e.key === w.key && e.comment === w.owner));
    return [...describeGaps(tableGaps(BASE, listing)), ...missing.map((e) => `element ${e.key} of ${e.set}`)];
  }

  /**
   * Whether the table exists with the whole base (every set, map, chain and
   * base rule). `false` when it is missing or was changed outside netmode.
   */
  async hasBase(scope: FirewallScope): Promise<boolean> {
    return (await this.#baseWhole(scope)) === true;
  }

  /**
   * Deletes the table when nothing uses it any more: no bridge is left in it
   * and the administrator's `user` chain is empty (netmode never discards
   * someone else's rules); then the `bridge netmode` table of `icc: false`
   * networks when no port is isolated in it. Resolves to whether both are gone.
   *
   * Looking and deleting are two steps: call it where no other process can
   * set up a network meanwhile (under the runtime's own lock), or that
   * network would lose its base.
   */
  async removeBase(scope: FirewallScope): Promise<boolean> {
    try {
      const listing = await readTable(scope, TABLE, []);
      if (listing !== null) {
        if (!baseUnused(listing)) return false;
        await applyScript(scope, `delete table ${TABLE}\n`);
      }
    } catch (error) {
      if (!tableMissing(error)) throw withContext(error, { table: TABLE });
    }
    // Only once no network is left: an icc: false network needs the table.
    return this.#ports.removeIfUnused(scope);
  }

  /** Whether the base is whole; `null` when there is no table. */
  async #baseWhole(scope: FirewallScope): Promise<boolean | null> {
    const listing = await readTable(scope, TABLE, ['-t']);
    return listing === null ? null : noGaps(tableGaps(BASE, listing));
  }

  async #remove(scope: FirewallScope, elements: readonly NftElement[], context: ErrorContext): Promise<void> {
    if (elements.length === 0) return;
    const script = new NftScript();
    for (const element of elements) script.removeElement(element);
    try {
      await applyScript(scope, script.toString());
    } catch (error) {
      // No table, no elements: what was to be removed is gone.
      if (tableMissing(error) && (await this.#baseWhole(scope).catch(() => undefined)) === null) return;
      if (!heldByAnother(error)) throw withContext(error, context);
      try {
        await this.#removeOwned(scope, elements);
      } catch (second) {
        throw withContext(second, context);
      }
    }
  }

  /** Deletes every element of the table whose comment is `owner`; nothing when the table is gone. */
  async #sweepOwner(scope: FirewallScope, owner: string): Promise<void> {
    const listing = await readTable(scope, TABLE, []);
    if (listing === null) return;
    const script = new NftScript();
    for (const [set, elements] of listing.sets) {
      for (const element of elements) {
        if (element.comment === owner) script.deleteElement({ set, key: element.key, owner });
      }
    }
    if (!script.empty) await applyScript(scope, script.toString());
  }

  /**
   * The slow path of a teardown repeated after the owner's elements went and
   * another owner took a key (a re-leased port, an overlapping subnet): the
   * add-then-delete transaction fails on that key, so look, and delete only
   * the elements that still carry this owner's comment.
   */
  async #removeOwned(scope: FirewallScope, elements: readonly NftElement[]): Promise<void> {
    const listing = await readTable(scope, TABLE, []);
    if (listing === null) return;
    const script = new NftScript();
    for (const element of elements) {
      const listed = listing.sets.get(element.set) ?? [];
      if (listed.some((e) => e.key === element.key && e.comment === element.owner)) script.deleteElement(element);
    }
    if (!script.empty) await applyScript(scope, script.toString());
  }
}

function addAll(elements: readonly NftElement[]): string {
  const script = new NftScript();
  for (const element of elements) script.addElement(element);
  return script.toString();
}

/**
 * Whether a removal failed because a key it re-adds is held by another
 * element: a map key with another value ("File exists") or an overlapping
 * interval.
 */
function heldByAnother(error: unknown): boolean {
  return isNetModeError(error, ErrorCode.COMMAND_FAILED) && /File exists|interval overlaps/.test(String(error.context['stderr']));
}

function withContext(error: unknown, context: ErrorContext): NetModeError {
  return asNetModeError(error, 'nftables firewall').withContext(context);
}
