import { formatArgs, type ChainRef, type IptablesRule, type IptablesTable } from './rule.js';

interface Section {
  readonly create: string[];
  readonly remove: string[];
  readonly add: string[];
  readonly destroy: string[];
}

/**
 * An `iptables-restore --noflush` script: one `*table` … `COMMIT` section per
 * table that changes, in the order given to the constructor. Within a section
 * chains are created first (`-N`, never `:CHAIN`, which flushes an existing
 * chain under `--noflush`), then rules deleted, then inserted or appended,
 * then chains deleted, so inserts at position 1 land where intended and a
 * chain is empty and unreferenced by the time it goes.
 */
export class RestoreScript {
  readonly #order: readonly IptablesTable[];
  readonly #sections = new Map<IptablesTable, Section>();

  /**
   * Starts an empty script.
   *
   * @param order - the tables in the order their sections are written (and committed).
   */
  constructor(order: readonly IptablesTable[]) {
    this.#order = order;
  }

  /** Adds `-N CHAIN`. */
  createChain(ref: ChainRef): void {
    this.#section(ref.table).create.push(`-N ${ref.chain}`);
  }

  /** Adds `-D CHAIN ARGS` (deletes the first rule with exactly these arguments). */
  deleteRule(rule: IptablesRule): void {
    this.#section(rule.table).remove.push(`-D ${rule.chain} ${formatArgs(rule.args)}`);
  }

  /** Adds `-I CHAIN 1 ARGS`. */
  insertRule(rule: IptablesRule): void {
    this.#section(rule.table).add.push(`-I ${rule.chain} 1 ${formatArgs(rule.args)}`);
  }

  /** Adds `-A CHAIN ARGS`. */
  appendRule(rule: IptablesRule): void {
    this.#section(rule.table).add.push(`-A ${rule.chain} ${formatArgs(rule.args)}`);
  }

  /** Adds `-X CHAIN`. */
  deleteChain(ref: ChainRef): void {
    this.#section(ref.table).destroy.push(`-X ${ref.chain}`);
  }

  /** Whether there is nothing to do. */
  get empty(): boolean {
    return this.#sections.size === 0;
  }

  /** The tables this script changes, in commit order. */
  get tables(): IptablesTable[] {
    return this.#order.filter((table) => this.#sections.has(table));
  }

  /** The script text, ending in a newline. */
  toString(): string {
    const lines: string[] = [];
    for (const table of this.tables) {
      const section = this.#sections.get(table) as Section;
      lines.push(`*${table}`, ...section.create, ...section.remove, ...section.add, ...section.destroy, 'COMMIT');
    }
    return lines.map((line) => `${line}\n`).join('');
  }

  #section(table: IptablesTable): Section {
    if (!this.#order.includes(table)) throw new Error(`table ${table} is not part of this script`);
    let section = this.#sections.get(table);
    if (section === undefined) {
      section = { create: [], remove: [], add: [], destroy: [] };
      this.#sections.set(table, section);
    }
    return section;
  }
}
