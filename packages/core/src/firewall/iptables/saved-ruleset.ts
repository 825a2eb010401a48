import { ErrorCode, NetModeError } from '../../errors.js';
import { ownerOf, tokenize, type ChainRef } from './rule.js';

/** The rules of one chain as `iptables-save` printed them, in order, each as unquoted tokens after `-A CHAIN`. */
export type SavedChain = readonly (readonly string[])[];

/**
 * What `iptables-save` printed, parsed: which chains exist in which table and
 * the rules of each, in order. Comment lines, policies and counters are
 * ignored; netmode reads only what it compares.
 */
export class SavedRuleset {
  readonly #tables = new Map<string, Map<string, string[][]>>();

  /**
   * Parses the output of `iptables-save` (all tables, or one with `-t`).
   *
   * @throws NetModeError ERR_COMMAND_FAILED on a line it cannot place, since
   * changing rules from a state that was misread could duplicate or lose them.
   */
  static parse(text: string): SavedRuleset {
    const saved = new SavedRuleset();
    let table: Map<string, string[][]> | undefined;
    for (const [index, raw] of text.split('\n').entries()) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      if (line.startsWith('*')) {
        table = new Map();
        saved.#tables.set(line.slice(1), table);
      } else if (line === 'COMMIT') {
        table = undefined;
      } else if (table !== undefined && line.startsWith(':')) {
        table.set(line.slice(1).split(' ')[0] ?? '', []);
      } else if (table !== undefined && line.startsWith('-A ')) {
        const [, chain, ...args] = tokenize(line);
        const rules = chain === undefined ? undefined : table.get(chain);
        if (rules === undefined) throw unreadable(index, line);
        rules.push(args);
      } else {
        throw unreadable(index, line);
      }
    }
    return saved;
  }

  /** Whether the chain exists. */
  hasChain(ref: ChainRef): boolean {
    return this.#tables.get(ref.table)?.has(ref.chain) ?? false;
  }

  /** The chain's rules in order; empty when the chain does not exist. */
  rules(ref: ChainRef): SavedChain {
    return this.#tables.get(ref.table)?.get(ref.chain) ?? [];
  }

  /** The rules of the chain whose comment is exactly `owner`, in order. */
  ownedBy(ref: ChainRef, owner: string): SavedChain {
    return this.rules(ref).filter((args) => ownerOf(args) === owner);
  }
}

function unreadable(index: number, line: string): NetModeError {
  return new NetModeError(
    ErrorCode.COMMAND_FAILED,
    `iptables-save printed a line netmode cannot read (line ${index + 1}: ${JSON.stringify(line)})`,
    { context: { line: index + 1, text: line } },
  );
}
