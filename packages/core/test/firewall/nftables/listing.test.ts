import { describe, expect, it } from 'vitest';
import { isNetModeError, ErrorCode } from '../../../src/errors.js';
import { BASE, baseUnused } from '../../../src/firewall/nftables/base.js';
import { parseTableListing, type TableListing } from '../../../src/firewall/nftables/listing.js';
import { describeGaps, tableGaps } from '../../../src/firewall/nftables/owned-table.js';
import { readFixture } from './golden.js';

const missingFromBase = (listing: TableListing) => describeGaps(tableGaps(BASE, listing));

// Both fixtures were printed by nft 1.0.6 on this kind of machine: a fresh
// base (`-j -t`), and a base holding elements of every kind plus an
// administrator's rule in `user` (`-j`).
describe('parseTableListing', () => {
  it('reads a whole base from a terse listing', () => {
    const listing = parseTableListing(readFixture('base-terse.json'));
    expect(missingFromBase(listing)).toEqual([]);
    expect([...listing.sets.values()].flat()).toEqual([]);
    expect(baseUnused(listing)).toBe(true);
  });

  it('writes listed keys back exactly as the scripts write them, with their owners', () => {
    const listing = parseTableListing(readFixture('full-listing.json'));
    const keys = (name: string) => listing.sets.get(name)?.map((e) => [e.key, e.comment]);
    expect(keys('bridges')).toEqual([['"nm-br1"', 'network:n2']]);
    expect(keys('bridge_pairs')).toEqual([['"nm-br1" . "nm-br1"', 'network:n2']]);
    expect(keys('icc_off')).toEqual([['"nm-br1" . "nm-br1"', 'network:n2']]);
    // An element without a comment is listed bare.
    expect(keys('masq_bridges')).toEqual([['"nm-br9"', undefined]]);
    // nft shows a /32 interval as the bare address.
    expect(keys('subnets4')?.sort()).toEqual([
      ['10.77.0.9/32', 'network:n2'],
      ['10.89.0.0/24', 'network:n2'],
    ]);
    expect(keys('dns_listeners')).toEqual([['"nm-br1" . 10.89.0.1', 'network:n2']]);
    expect(keys('dns_addrs')).toEqual([['10.89.0.1', 'network:n2']]);
    expect(keys('pub_any4')).toEqual([['tcp . 8080', 'endpoint:c1']]);
    expect(keys('pub_ip4')).toEqual([['192.168.7.5 . udp . 5000', 'endpoint:c1']]);
    expect(keys('proxy_any4')?.sort()).toEqual([
      ['"lo" . tcp . 8080', 'endpoint:c1'],
      ['"nm-br1" . tcp . 8080', 'endpoint:c1'],
    ]);
    expect(missingFromBase(listing)).toEqual([]);
    expect(listing.rules.filter((r) => r.chain === 'user')).toEqual([{ chain: 'user', comment: 'admin' }]);
    expect(baseUnused(listing)).toBe(false);
  });

  it('names every gap of a base that was changed by hand', () => {
    const raw = JSON.parse(readFixture('base-terse.json')) as { nftables: Record<string, Record<string, unknown>>[] };
    let outputRules = 0;
    raw.nftables = raw.nftables.filter((entry) => {
      if (entry['set']?.['name'] === 'icc_off') return false;
      if (entry['rule']?.['chain'] === 'output' && outputRules++ === 0) return false;
      if (entry['chain']?.['name'] === 'user') return false;
      return true;
    });
    expect(missingFromBase(parseTableListing(JSON.stringify(raw)))).toEqual(['set icc_off', 'chain user', 'rules of chain output']);
  });

  it("never counts the administrator's rules, nor their absence, as a gap", () => {
    const raw = JSON.parse(readFixture('full-listing.json')) as { nftables: Record<string, Record<string, unknown>>[] };
    raw.nftables = raw.nftables.filter((entry) => entry['rule']?.['chain'] !== 'user');
    expect(missingFromBase(parseTableListing(JSON.stringify(raw)))).toEqual([]);
  });

  it('refuses output that is not a listing', () => {
    for (const text of ['', 'table inet netmode {', '{"tables": []}']) {
      let caught: unknown;
      try {
        parseTableListing(text);
      } catch (error) {
        caught = error;
      }
      expect(isNetModeError(caught, ErrorCode.COMMAND_FAILED)).toBe(true);
    }
  });
});
