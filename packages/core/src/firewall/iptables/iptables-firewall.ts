import { asNetModeError, ErrorCode, errorMessage, isNetModeError } from '../../errors.js';
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
import { baseRules, endpointRules, networkRules, noRules, type OwnedRules } from './desired-rules.js';
import { anyOwnedChain, baseGaps, ensureChains, hasBase, ownedGaps, reconcile, removeBase, ruleOwners } from './reconcile.js';
import { RestoreScript } from './restore-script.js';
import { BASE_OWNER, endpointOwner, networkOwner, type IptablesTable } from './rule.js';
import { SavedRuleset } from './saved-ruleset.js';

const ALL_TABLES: readonly IptablesTable[] = ['raw', 'nat', 'filter'];
const NAT: readonly IptablesTable[] = ['nat'];
// Setup commits the guard, then the filter verdicts, then DNAT and
// masquerade; teardown the other way round. Each table commits on its own,
// so whichever table fails, what was applied before it only ever restricts.
const SETUP_ORDER: readonly IptablesTable[] = ['raw', 'filter', 'nat'];
const TEARDOWN_ORDER: readonly IptablesTable[] = ['nat', 'filter', 'raw'];

/**
 * The iptables backend, for hosts whose firewall is managed with iptables
 * (Docker, kube-proxy, an administrator's scripts). It keeps to chains of its
 * own — raw `NETMODE-GUARD`; nat `NETMODE-DNAT`, `NETMODE-POSTROUTING`,
 * `NETMODE-HAIRPIN`; filter `NETMODE-FORWARD`, `NETMODE-USER`, `NETMODE-CT`,
 * `NETMODE-ISOLATION`, `NETMODE-INPUT` — and adds one jump per hook into them
 * (raw PREROUTING; nat PREROUTING and OUTPUT for local destinations; nat
 * POSTROUTING; filter FORWARD and INPUT), inserted at position 1. It never changes a
 * built-in chain's policy and never touches another rule of a chain it does
 * not own. `NETMODE-USER` is the administrator's: jumped to first from
 * `NETMODE-FORWARD`, created empty, never written or flushed by netmode.
 *
 * Every rule carries its owner as a comment (`netmode`,
 * `netmode:network:ID`, `netmode:endpoint:ID`). A change reads the state
 * with one `iptables-save` and writes only the difference with one
 * `iptables-restore --noflush` (none when nothing differs), so setting up
 * twice adds nothing and tearing down what is gone succeeds. Teardown removes
 * every rule carrying the owner's comment, whatever the rest of the
 * description passed in says.
 *
 * `iptables-restore` commits each table on its own: when a later table fails,
 * the earlier ones stay applied. Setup commits raw, filter, nat and teardown
 * nat, filter, raw, so a half-done change never opens more than the whole
 * one would. A failed restore is retried once against a fresh read (another
 * process may have created the base or removed a rule in between); a setup
 * that still fails removes the owner's rules again when it had none before,
 * then throws. The shared base is never rolled back: other networks may
 * already use it, and on its own it lets nothing through.
 */
export class IptablesFirewall implements Firewall {
  /** Always `iptables`. */
  readonly name = 'iptables';
  /** It enforces everything netmode asks of a firewall (`icc: false` through `nft` too, see `PortFilter`). */
  readonly capabilities: FirewallCapabilities = { publishPorts: true, masquerade: true, isolate: true };

  // Frames below IP have no iptables hook: the bridge-family nft table serves both backends.
  readonly #ports = new PortFilter();

  /** Creates whatever is missing of the shared base: owned chains, hook jumps and NETMODE-FORWARD's first rules. */
  async ensureBase(scope: FirewallScope): Promise<void> {
    await this.#apply(scope, ALL_TABLES, (saved) => this.#setupScript(saved, ALL_TABLES));
  }

  /** Whether the whole base is in place in the scope's namespace. */
  async hasBase(scope: FirewallScope): Promise<boolean> {
    return hasBase(await this.#read(scope, ALL_TABLES), ALL_TABLES);
  }

  /**
   * Removes the jumps, the base rules and the owned chains, when no owned
   * chain holds any other rule; resolves `false` (and changes nothing) while
   * rules of a network or endpoint, or rules of anyone else, remain in them.
   * `NETMODE-USER` is kept while it holds the administrator's rules. Then
   * deletes the `bridge netmode` nft table of `icc: false` networks when no
   * port is isolated in it.
   */
  async removeBase(scope: FirewallScope): Promise<boolean> {
    let removed = true;
    await this.#apply(scope, ALL_TABLES, (saved) => {
      const script = new RestoreScript(TEARDOWN_ORDER);
      removed = removeBase(saved, ALL_TABLES, script);
      return script;
    });
    // Only once no network is left: an icc: false network needs the table.
    return removed && (await this.#ports.removeIfUnused(scope));
  }

  /**
   * Creates the base when missing and makes the network's rules exactly what
   * the network asks for, in one restore; for an `icc: false` network, also
   * creates the `bridge netmode` nft table when missing.
   *
   * @throws NetModeError ERR_INVALID_CONFIG before any process starts, for a
   * bad id, bridge name or subnet, or an IPv6 subnet.
   */
  async setupNetwork(scope: FirewallScope, network: FirewallNetwork): Promise<void> {
    const rules = networkRules(validateFirewallNetwork(network));
    if (!network.icc) await this.#ports.setupNetwork(scope, network.bridge);
    await this.#setup(scope, ALL_TABLES, rules);
  }

  /**
   * Removes every rule commented with the network's id; only `networkId` is read.
   *
   * @throws NetModeError ERR_INVALID_CONFIG before any process starts, for a bad id.
   */
  async teardownNetwork(scope: FirewallScope, network: FirewallNetwork): Promise<void> {
    await this.#teardown(scope, ALL_TABLES, networkOwner(assertOwnerId(network.networkId, 'networkId')));
  }

  /**
   * Makes the endpoint's DNAT rules exactly its ports, creating the nat part
   * of the base when missing, in one restore; on an `icc: false` network,
   * isolates its bridge port first (one nft transaction) and releases it
   * again when the restore fails. Starts no iptables process for an
   * isolated endpoint without ports.
   *
   * @throws NetModeError ERR_INVALID_CONFIG before any process starts, for a
   * bad id, bridge, address or port, or an IPv6 address.
   */
  async setupEndpoint(scope: FirewallScope, endpoint: FirewallEndpoint): Promise<void> {
    const rules = endpointRules(validateFirewallEndpoint(endpoint));
    await this.#ports.setupEndpoint(scope, endpoint, async () => {
      if (endpoint.ports.length > 0 || endpoint.hostInterface === undefined) await this.#setup(scope, NAT, rules);
    });
  }

  /**
   * Removes every rule commented with the endpoint's id, then its port
   * isolation. Reads only `endpointId`, plus `hostInterface`, `icc` and the
   * rest for the isolation.
   *
   * @throws NetModeError ERR_INVALID_CONFIG before any process starts, for a bad id.
   */
  async teardownEndpoint(scope: FirewallScope, endpoint: FirewallEndpoint): Promise<void> {
    const owner = endpointOwner(assertOwnerId(endpoint.endpointId, 'endpointId'));
    await this.#ports.teardownEndpoint(scope, endpoint, async () => {
      if (endpoint.ports.length > 0 || endpoint.hostInterface === undefined) await this.#teardown(scope, NAT, owner);
    });
  }

  /** Removes every rule commented with the owner, in every table, and (an endpoint's) its isolated port. */
  async teardownOwner(scope: FirewallScope, owner: FirewallOwner): Promise<void> {
    assertOwnerId(owner.id, 'owner id');
    const comment = owner.kind === 'endpoint' ? endpointOwner(owner.id) : networkOwner(owner.id);
    await this.#teardown(scope, ALL_TABLES, comment);
    if (owner.kind === 'endpoint') await this.#ports.sweep(scope, owner.id);
  }

  /** Every owner of a rule in netmode's chains, and of an element of the `bridge netmode` table. */
  async owners(scope: FirewallScope): Promise<FirewallOwner[]> {
    const marks = [...ruleOwners(await this.#read(scope, ALL_TABLES), ALL_TABLES)]
      .filter((comment) => comment !== BASE_OWNER && comment.startsWith(`${BASE_OWNER}:`))
      .map((comment) => comment.slice(`${BASE_OWNER}:`.length));
    const owners = marks.flatMap((mark) => parseOwnerMark(mark) ?? []);
    const seen = new Set(owners.map(ownerMark));
    return [...owners, ...(await this.#ports.owners(scope)).filter((o) => !seen.has(ownerMark(o)))];
  }

  /** Whether any of netmode's chains exist, and what the base lacks. */
  async check(scope: FirewallScope): Promise<FirewallBaseState> {
    const saved = await this.#read(scope, ALL_TABLES);
    return anyOwnedChain(saved, ALL_TABLES) ? { present: true, gaps: baseGaps(saved, ALL_TABLES) } : { present: false, gaps: [] };
  }

  /** Gaps in the base, and chains where the network's or the endpoint's rules are not exactly theirs: one `iptables-save`. */
  async gaps(scope: FirewallScope, network: FirewallNetwork, endpoint?: FirewallEndpoint): Promise<readonly string[]> {
    const wanted = [networkRules(validateFirewallNetwork(network))];
    // As setupEndpoint: an isolated endpoint without ports has no rules here.
    if (endpoint && (endpoint.ports.length > 0 || endpoint.hostInterface === undefined)) {
      wanted.push(endpointRules(validateFirewallEndpoint(endpoint)));
    }
    const saved = await this.#read(scope, ALL_TABLES);
    return [...baseGaps(saved, ALL_TABLES), ...wanted.flatMap((rules) => ownedGaps(saved, rules))];
  }

  async #setup(scope: FirewallScope, tables: readonly IptablesTable[], wanted: OwnedRules): Promise<void> {
    const saved = await this.#read(scope, tables);
    const fresh = wanted.chains.every((ref) => saved.ownedBy(ref, wanted.owner).length === 0);
    try {
      await this.#apply(scope, tables, (state) => this.#setupScript(state, tables, wanted), saved);
    } catch (error) {
      const failure = asNetModeError(error, `iptables setup of ${wanted.owner}`).withContext({ owner: wanted.owner });
      if (!fresh) throw failure;
      // Without the caller's signal: an aborted setup must still be undone.
      const rollback = await this.#teardown({ runner: scope.runner, netns: scope.netns }, tables, wanted.owner).then(
        () => undefined,
        (rollbackError: unknown) => rollbackError,
      );
      throw failure.withContext(
        rollback === undefined ? { rolledBack: true } : { rolledBack: false, rollbackError: errorMessage(rollback) },
      );
    }
  }

  async #teardown(scope: FirewallScope, tables: readonly IptablesTable[], owner: string): Promise<void> {
    await this.#apply(scope, tables, (saved) => {
      const script = new RestoreScript(TEARDOWN_ORDER);
      reconcile(saved, noRules(owner, tables), script);
      return script;
    }).catch((error: unknown) => {
      throw asNetModeError(error, `iptables teardown of ${owner}`).withContext({ owner });
    });
  }

  #setupScript(saved: SavedRuleset, tables: readonly IptablesTable[], wanted?: OwnedRules): RestoreScript {
    const script = new RestoreScript(SETUP_ORDER);
    ensureChains(saved, tables, script);
    reconcile(saved, baseRules(tables), script);
    if (wanted !== undefined) reconcile(saved, wanted, script);
    return script;
  }

  /** Reads, plans, restores; on a failed restore reads and plans again and restores once more. */
  async #apply(
    scope: FirewallScope,
    tables: readonly IptablesTable[],
    plan: (saved: SavedRuleset) => RestoreScript,
    first?: SavedRuleset,
  ): Promise<void> {
    const script = plan(first ?? (await this.#read(scope, tables)));
    if (script.empty) return;
    try {
      await this.#restore(scope, script);
      return;
    } catch (error) {
      // Only a refused script is worth a second look; a missing tool, missing
      // permission or an abort will fail the same way again.
      if (!isNetModeError(error, ErrorCode.COMMAND_FAILED)) throw error;
    }
    const retry = plan(await this.#read(scope, tables));
    if (!retry.empty) await this.#restore(scope, retry);
  }

  async #read(scope: FirewallScope, tables: readonly IptablesTable[]): Promise<SavedRuleset> {
    const [only] = tables;
    const args = tables.length === 1 && only !== undefined ? ['-t', only] : [];
    const result = await scope.runner.run({ command: 'iptables-save', args, netns: scope.netns, signal: scope.signal });
    return SavedRuleset.parse(result.stdout);
  }

  async #restore(scope: FirewallScope, script: RestoreScript): Promise<void> {
    await scope.runner.run({
      command: 'iptables-restore',
      args: ['--noflush'],
      netns: scope.netns,
      input: script.toString(),
      signal: scope.signal,
    });
  }
}
