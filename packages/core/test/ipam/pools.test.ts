import { describe, expect, it } from 'vitest';
import { ErrorCode, NetModeError } from '../../src/errors.js';
import { DEFAULT_ADDRESS_POOLS, findFreeSubnet, resolvePools } from '../../src/ipam/pools.js';
import { formatCidr, parseNetwork } from '../../src/net/address.js';

describe('DEFAULT_ADDRESS_POOLS', () => {
  it("is Docker's list, in Docker's order", () => {
    expect(DEFAULT_ADDRESS_POOLS).toHaveLength(16);
    expect(DEFAULT_ADDRESS_POOLS[0]).toEqual({ base: '172.17.0.0/16', size: 16 });
    expect(DEFAULT_ADDRESS_POOLS[14]).toEqual({ base: '172.31.0.0/16', size: 16 });
    expect(DEFAULT_ADDRESS_POOLS[15]).toEqual({ base: '192.168.0.0/16', size: 20 });
    expect(DEFAULT_ADDRESS_POOLS.map((p) => p.base).slice(0, 15)).toEqual(Array.from({ length: 15 }, (_, i) => `172.${17 + i}.0.0/16`));
    expect(Object.isFrozen(DEFAULT_ADDRESS_POOLS)).toBe(true);
  });
});

describe('resolvePools', () => {
  it.each([
    [{ base: '172.17.0.1/16', size: 16 }, 'pools[0].base'],
    [{ base: '10.0.0.0/8', size: 7 }, 'pools[0].size'],
    [{ base: '10.0.0.0/8', size: 31 }, 'pools[0].size'],
    [{ base: '10.0.0.0/8', size: 24.5 }, 'pools[0].size'],
    [{ base: 'fd00::/48', size: 127 }, 'pools[0].size'],
  ])('rejects %j naming %s', (pool, field) => {
    try {
      resolvePools([pool]);
      expect.unreachable();
    } catch (error) {
      expect((error as NetModeError).code).toBe(ErrorCode.INVALID_CONFIG);
      expect((error as NetModeError).message).toMatch(new RegExp(`^${field.replace(/[[\].]/g, '\\$&')}: `));
    }
  });
});

describe('findFreeSubnet', () => {
  const pools = resolvePools([
    { base: '10.0.0.0/16', size: 24 },
    { base: 'fd00::/48', size: 64 },
  ]);

  it('takes the lowest free candidate of the family, skipping taken networks of any size', () => {
    const taken = ['10.0.0.0/23', '10.0.2.128/25', '10.0.4.0/24'].map((t) => parseNetwork(t));
    expect(formatCidr(findFreeSubnet(pools, 4, taken) ?? parseNetwork('0.0.0.0/0'))).toBe('10.0.3.0/24');
    expect(formatCidr(findFreeSubnet(pools, 6, taken) ?? parseNetwork('::/0'))).toBe('fd00::/64');
  });

  it('returns undefined when a pool is covered', () => {
    expect(findFreeSubnet(pools, 4, [parseNetwork('8.0.0.0/5')])).toBeUndefined();
  });

  it('jumps over a taken network instead of enumerating candidates', () => {
    // 2^16 candidates of /64 in the /48 are taken by one /49 and one /50: the
    // answer is the first /64 of the last quarter, found in three steps.
    const taken = [parseNetwork('fd00::/49'), parseNetwork('fd00:0:0:8000::/50')];
    const started = performance.now();
    expect(formatCidr(findFreeSubnet(pools, 6, taken) ?? parseNetwork('::/0'))).toBe('fd00:0:0:c000::/64');
    expect(performance.now() - started).toBeLessThan(50);
  });
});
