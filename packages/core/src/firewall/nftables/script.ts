import { TABLE } from './base.js';

export { endpointOwner, networkOwner } from '../../model/owner.js';

/**
 * One element of a set or map, already in nft syntax. Every part was
 * validated before it got here (interface names, addresses, ports, owner
 * ids), so nothing in it needs escaping.
 */
export interface NftElement {
  /** The table holding the set, as nft names it; absent for netmode's `inet netmode`. */
  readonly table?: string;
  /** The set or map it belongs to. */
  readonly set: string;
  /** The key, such as `"nm-br0" . "nm-br0"` or `tcp . 8080`. */
  readonly key: string;
  /** The value, for map elements only, such as `10.88.0.2 . 80`. */
  readonly value?: string;
  /** The owner, written as the element's comment: `network:ID` or `endpoint:ID`. */
  readonly owner: string;
}

/** An interface name as an nft string literal; quoted so a name is never taken for a keyword. */
export function ifnameLiteral(name: string): string {
  return `"${name}"`;
}

/** Builds the text of one `nft -f -` transaction, one command a line. */
export class NftScript {
  readonly #lines: string[] = [];

  /** Adds `element`; a no-op in the kernel when an identical element exists. */
  addElement(element: NftElement): this {
    const value = element.value === undefined ? '' : ` : ${element.value}`;
    this.#lines.push(`add element ${element.table ?? TABLE} ${element.set} { ${element.key} comment "${element.owner}"${value} }`);
    return this;
  }

  /**
   * Removes `element` whether or not it exists. Deleting a missing element
   * fails the whole transaction, so it is added first; both happen in the
   * same transaction, so nobody ever sees it come back.
   */
  removeElement(element: NftElement): this {
    return this.addElement(element).deleteElement(element);
  }

  /** Deletes `element`, which must exist: the transaction fails whole if it does not. */
  deleteElement(element: NftElement): this {
    this.#lines.push(`delete element ${element.table ?? TABLE} ${element.set} { ${element.key} }`);
    return this;
  }

  /** Whether no command was added. */
  get empty(): boolean {
    return this.#lines.length === 0;
  }

  /** The script, newline-terminated. */
  toString(): string {
    return this.#lines.map((line) => `${line}\n`).join('');
  }
}
