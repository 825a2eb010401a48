import type { CommandRunner } from '../../../src/exec/runner.js';
import type { NetnsRef } from '../../../src/model/netns-ref.js';

/** One element as a test compares it: key and value in nft's text form, and its comment. */
export interface ListedElement {
  /** `"nm-br0" . "nm-br0"`, `10.88.0.0/16`, `tcp . 8080`, … */
  readonly key: string;
  /** The map value, such as `10.88.0.2 . 80`; absent in a set. */
  readonly value?: string;
  /** The element's comment. */
  readonly comment: string | undefined;
}

/** A rule as a test compares it. */
export interface ListedRule {
  /** Its chain. */
  readonly chain: string;
  /** Its comment. */
  readonly comment: string | undefined;
  /** Its handle, for deleting it. */
  readonly handle: number;
}

/** What `nft -j list table inet netmode` shows, reduced to what the tests check. */
export interface ListedTable {
  /** Set or map name to its elements. */
  readonly sets: ReadonlyMap<string, readonly ListedElement[]>;
  /** Every rule, in listing order. */
  readonly rules: readonly ListedRule[];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Runs `nft -j list table inet netmode` in `netns` and reads it. */
export async function listTable(runner: CommandRunner, netns: NetnsRef): Promise<ListedTable> {
  const { stdout } = await runner.run({ command: 'nft', args: ['-j', 'list', 'table', 'inet', 'netmode'], netns });
  const entries = (JSON.parse(stdout) as { nftables: Record<string, Record<string, Json>>[] }).nftables;
  const sets = new Map<string, ListedElement[]>();
  const rules: ListedRule[] = [];
  for (const entry of entries) {
    const set = entry['set'] ?? entry['map'];
    if (set) sets.set(String(set['name']), ((set['elem'] ?? []) as Json[]).map(element));
    const rule = entry['rule'];
    if (rule) rules.push({ chain: String(rule['chain']), comment: optional(rule['comment']), handle: Number(rule['handle']) });
  }
  return { sets, rules };
}

function element(entry: Json): ListedElement {
  // A map element is [key, value]; a set element is its key alone.
  const [key, value] = Array.isArray(entry) ? [entry[0], entry[1]] : [entry, undefined];
  const wrapped = isRecord(key) && isRecord(key['elem']) ? key['elem'] : undefined;
  return {
    key: text(wrapped ? (wrapped['val'] ?? null) : (key ?? null)),
    ...(value === undefined ? {} : { value: text(value) }),
    comment: wrapped ? optional(wrapped['comment']) : undefined,
  };
}

function text(value: Json): string {
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  if (isRecord(value) && Array.isArray(value['concat'])) return value['concat'].map(text).join(' . ');
  if (isRecord(value) && isRecord(value['prefix']))
    return `${text(value['prefix']['addr'] ?? null)}/${text(value['prefix']['len'] ?? null)}`;
  return JSON.stringify(value);
}

function optional(value: Json | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function isRecord(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
