import { describe, expect, it } from 'vitest';
import { ErrorCode, NetModeError } from '../../src/errors.js';
import { StoreIpam } from '../../src/ipam/ipam.js';
import { MemoryStateStore } from '../../src/store/memory-store.js';

async function rejection(promise: Promise<unknown>, code: string): Promise<NetModeError> {
  const error = await promise.then(
    () => expect.unreachable('expected a rejection'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NetModeError);
  expect((error as NetModeError).code).toBe(code);
  return error as NetModeError;
}

async function withSubnet(subnet: string, extra: { gateway?: string; ipRange?: string } = {}) {
  const store = new MemoryStateStore();
  const ipam = new StoreIpam(store);
  await ipam.allocateSubnet('net', { subnet, ...extra });
  return { store, ipam };
}

describe('dynamic allocation', () => {
  it('never hands out network, gateway or broadcast, in a /29 driven to exhaustion', async () => {
    const { ipam } = await withSubnet('10.0.0.0/29');
    const got: string[] = [];
    for (let i = 0; i < 5; i += 1) got.push(await ipam.allocateAddress('10.0.0.0/29', `c${i}`));
    expect(got).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    const error = await rejection(ipam.allocateAddress('10.0.0.0/29', 'c5'), ErrorCode.ADDRESS_EXHAUSTED);
    expect(error.message).toContain('10.0.0.0/29');
  });

  it('skips a gateway placed in the middle of the subnet', async () => {
    const { ipam } = await withSubnet('10.0.0.0/29', { gateway: '10.0.0.4' });
    const got: string[] = [];
    for (let i = 0; i < 5; i += 1) got.push(await ipam.allocateAddress('10.0.0.0/29', `c${i}`));
    expect(got).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.5', '10.0.0.6']);
    await rejection(ipam.allocateAddress('10.0.0.0/29', 'c5'), ErrorCode.ADDRESS_EXHAUSTED);
  });

  it('uses the last address of an IPv6 subnet (there is no broadcast) but never the network address', async () => {
    const { ipam } = await withSubnet('fd00::/126');
    const got = [await ipam.allocateAddress('fd00::/126', 'a'), await ipam.allocateAddress('fd00::/126', 'b')];
    expect(got).toEqual(['fd00::2', 'fd00::3']);
    await rejection(ipam.allocateAddress('fd00::/126', 'c'), ErrorCode.ADDRESS_EXHAUSTED);
  });

  it('is round-robin: a just-released address is not reused at once', async () => {
    const { ipam } = await withSubnet('10.0.0.0/24');
    const a = await ipam.allocateAddress('10.0.0.0/24', 'a');
    const b = await ipam.allocateAddress('10.0.0.0/24', 'b');
    expect([a, b]).toEqual(['10.0.0.2', '10.0.0.3']);
    await ipam.releaseAddress('10.0.0.0/24', a);
    const c = await ipam.allocateAddress('10.0.0.0/24', 'c');
    expect(c).not.toBe(a);
    expect(c).toBe('10.0.0.4');
  });

  it('wraps around after the end of the range, to the first free address', async () => {
    const { ipam } = await withSubnet('10.0.0.0/29');
    for (let i = 0; i < 5; i += 1) await ipam.allocateAddress('10.0.0.0/29', `c${i}`);
    await ipam.releaseAddress('10.0.0.0/29', '10.0.0.4');
    await ipam.releaseAddress('10.0.0.0/29', '10.0.0.3');
    // The pointer is at .6, the end: the search wraps and takes .3 before .4.
    expect(await ipam.allocateAddress('10.0.0.0/29', 'x')).toBe('10.0.0.3');
    expect(await ipam.allocateAddress('10.0.0.0/29', 'y')).toBe('10.0.0.4');
    await rejection(ipam.allocateAddress('10.0.0.0/29', 'z'), ErrorCode.ADDRESS_EXHAUSTED);
  });

  it('takes dynamic addresses only from the ipRange, round-robin within it', async () => {
    const { ipam } = await withSubnet('10.0.0.0/24', { ipRange: '10.0.0.16/30' });
    const got: string[] = [];
    for (let i = 0; i < 4; i += 1) got.push(await ipam.allocateAddress('10.0.0.0/24', `c${i}`));
    expect(got).toEqual(['10.0.0.16', '10.0.0.17', '10.0.0.18', '10.0.0.19']);
    const error = await rejection(ipam.allocateAddress('10.0.0.0/24', 'c4'), ErrorCode.ADDRESS_EXHAUSTED);
    expect(error.message).toContain('ipRange 10.0.0.16/30');
    await ipam.releaseAddress('10.0.0.0/24', '10.0.0.17');
    expect(await ipam.allocateAddress('10.0.0.0/24', 'c5')).toBe('10.0.0.17');
  });

  it('keeps reserved addresses out of an ipRange that covers them', async () => {
    const { ipam } = await withSubnet('10.0.0.0/24', { ipRange: '10.0.0.0/30' });
    expect(await ipam.allocateAddress('10.0.0.0/24', 'a')).toBe('10.0.0.2');
    expect(await ipam.allocateAddress('10.0.0.0/24', 'b')).toBe('10.0.0.3');
    await rejection(ipam.allocateAddress('10.0.0.0/24', 'c'), ErrorCode.ADDRESS_EXHAUSTED);
  });

  it('is fast and correct in an IPv6 /64 with many leases', async () => {
    const { ipam } = await withSubnet('fd00:1:2:3::/64');
    const started = performance.now();
    const got = new Set<string>();
    for (let i = 0; i < 1000; i += 1) got.add(await ipam.allocateAddress('fd00:1:2:3::/64', `c${i}`));
    expect(performance.now() - started).toBeLessThan(5000);
    expect(got.size).toBe(1000);
    expect(got.has('fd00:1:2:3::2')).toBe(true);
    expect(got.has('fd00:1:2:3::3e9')).toBe(true); // 2 + 999
    expect(got.has('fd00:1:2:3::')).toBe(false);
    expect(got.has('fd00:1:2:3::1')).toBe(false);
  });

  it('wraps in an IPv6 /64 from its very last address without enumerating', async () => {
    const { store } = await withSubnet('fd00::/64');
    // Put the pointer one before the end of the /64 and lease the end: the
    // next search must step over the end, wrap, and skip network and gateway.
    await store.transaction(async (tx) => {
      const key = 'ipam/subnets/6-fd00--_64';
      const record = await tx.get<Record<string, unknown>>(key);
      expect(record).toBeDefined();
      tx.put(key, { ...record, lastAllocated: 'fd00::ffff:ffff:ffff:fffe', leases: { 'fd00::ffff:ffff:ffff:ffff': 'z' } });
    });
    const ipam = new StoreIpam(store);
    const started = performance.now();
    expect(await ipam.allocateAddress('fd00::/64', 'n')).toBe('fd00::2');
    expect(performance.now() - started).toBeLessThan(100);
  });
});

describe('static requests', () => {
  it('leases a free address, even outside the ipRange', async () => {
    const { ipam } = await withSubnet('10.0.0.0/24', { ipRange: '10.0.0.128/25' });
    expect(await ipam.allocateAddress('10.0.0.0/24', 'a', { address: '10.0.0.10' })).toBe('10.0.0.10');
    expect(await ipam.allocateAddress('10.0.0.0/24', 'b', { address: '10.0.0.200' })).toBe('10.0.0.200');
    expect(await ipam.listLeases('10.0.0.0/24')).toEqual([
      { address: '10.0.0.10', owner: 'a' },
      { address: '10.0.0.200', owner: 'b' },
    ]);
  });

  it('is skipped by dynamic allocation and does not move the round-robin pointer', async () => {
    const { ipam } = await withSubnet('10.0.0.0/24');
    await ipam.allocateAddress('10.0.0.0/24', 'a', { address: '10.0.0.3' });
    await ipam.allocateAddress('10.0.0.0/24', 'b', { address: '10.0.0.50' });
    expect(await ipam.allocateAddress('10.0.0.0/24', 'c')).toBe('10.0.0.2');
    expect(await ipam.allocateAddress('10.0.0.0/24', 'd')).toBe('10.0.0.4');
  });

  it('canonicalises IPv6 static addresses', async () => {
    const { ipam } = await withSubnet('fd00::/64');
    expect(await ipam.allocateAddress('fd00::/64', 'a', { address: 'FD00:0:0:0::00AB' })).toBe('fd00::ab');
    await rejection(ipam.allocateAddress('fd00::/64', 'b', { address: 'fd00::ab' }), ErrorCode.ADDRESS_IN_USE);
  });

  it('refuses an address in use, naming its owner', async () => {
    const { ipam } = await withSubnet('10.0.0.0/24');
    const taken = await ipam.allocateAddress('10.0.0.0/24', 'web-1');
    const error = await rejection(ipam.allocateAddress('10.0.0.0/24', 'web-2', { address: taken }), ErrorCode.ADDRESS_IN_USE);
    expect(error.message).toContain('web-1');
  });

  it.each([
    ['10.0.0.0', 'network address'],
    ['10.0.0.1', 'gateway'],
    ['10.0.0.255', 'broadcast address'],
    ['10.0.1.5', 'outside subnet'],
    ['fd00::5', 'outside subnet'],
    ['10.0.0.300', 'not a valid IP address'],
    ['10.0.0.5/24', 'not a valid IP address'],
  ])('refuses %j (%s) with ERR_INVALID_CONFIG', async (address, words) => {
    const { ipam } = await withSubnet('10.0.0.0/24');
    const error = await rejection(ipam.allocateAddress('10.0.0.0/24', 'a', { address }), ErrorCode.INVALID_CONFIG);
    expect(error.message).toContain(words);
    expect(await ipam.listLeases('10.0.0.0/24')).toEqual([]);
  });
});

describe('subnet and owner handling', () => {
  it('refuses a subnet IPAM never allocated, and malformed subnets', async () => {
    const { ipam } = await withSubnet('10.0.0.0/24');
    const error = await rejection(ipam.allocateAddress('10.0.1.0/24', 'a'), ErrorCode.INVALID_CONFIG);
    expect(error.message).toContain('not allocated');
    await rejection(ipam.allocateAddress('10.0.0.1/24', 'a'), ErrorCode.INVALID_CONFIG);
    await rejection(ipam.listLeases('10.0.1.0/24'), ErrorCode.INVALID_CONFIG);
  });

  it('refuses empty or control-character owners', async () => {
    const { ipam } = await withSubnet('10.0.0.0/24');
    await rejection(ipam.allocateAddress('10.0.0.0/24', ''), ErrorCode.INVALID_CONFIG);
    await rejection(ipam.allocateAddress('10.0.0.0/24', 'a\nb'), ErrorCode.INVALID_CONFIG);
    await rejection(ipam.allocateSubnet(''), ErrorCode.INVALID_CONFIG);
  });

  it('releases addresses idempotently', async () => {
    const { ipam } = await withSubnet('10.0.0.0/24');
    const a = await ipam.allocateAddress('10.0.0.0/24', 'a');
    await ipam.releaseAddress('10.0.0.0/24', a);
    await ipam.releaseAddress('10.0.0.0/24', a);
    await ipam.releaseAddress('10.0.0.0/24', '10.0.0.77');
    await ipam.releaseAddress('10.9.0.0/24', '10.9.0.2');
    expect(await ipam.listLeases('10.0.0.0/24')).toEqual([]);
    await rejection(ipam.releaseAddress('10.0.0.0/24', 'nope'), ErrorCode.INVALID_CONFIG);
  });

  it('releases every lease of an owner across subnets', async () => {
    const store = new MemoryStateStore();
    const ipam = new StoreIpam(store);
    await ipam.allocateSubnet('n1', { subnet: '10.0.0.0/24' });
    await ipam.allocateSubnet('n2', { subnet: 'fd00::/64' });
    await ipam.allocateAddress('10.0.0.0/24', 'web');
    await ipam.allocateAddress('10.0.0.0/24', 'db');
    await ipam.allocateAddress('10.0.0.0/24', 'web', { address: '10.0.0.99' });
    await ipam.allocateAddress('fd00::/64', 'web');
    expect(await ipam.releaseOwner('web')).toBe(3);
    expect(await ipam.releaseOwner('web')).toBe(0);
    expect(await ipam.listLeases('10.0.0.0/24')).toEqual([{ address: '10.0.0.3', owner: 'db' }]);
    expect(await ipam.listLeases('fd00::/64')).toEqual([]);
  });
});

describe('persistence and transactions', () => {
  it('a new Ipam on the same store sees every lease and the round-robin pointer', async () => {
    const { store, ipam } = await withSubnet('10.0.0.0/24', { ipRange: '10.0.0.0/28' });
    for (let i = 0; i < 5; i += 1) await ipam.allocateAddress('10.0.0.0/24', `c${i}`);
    await ipam.allocateAddress('10.0.0.0/24', 's', { address: '10.0.0.200' });
    await ipam.releaseAddress('10.0.0.0/24', '10.0.0.6');

    const again = new StoreIpam(store);
    expect(await again.listSubnets()).toEqual(await ipam.listSubnets());
    expect(await again.listLeases('10.0.0.0/24')).toEqual(await ipam.listLeases('10.0.0.0/24'));
    // The pointer is at .6 (just released): the next one is .7, not .6.
    expect(await again.allocateAddress('10.0.0.0/24', 'next')).toBe('10.0.0.7');
    await rejection(again.allocateAddress('10.0.0.0/24', 'x', { address: '10.0.0.200' }), ErrorCode.ADDRESS_IN_USE);
    await rejection(again.allocateSubnet('other', { subnet: '10.0.0.0/16' }), ErrorCode.SUBNET_OVERLAP);
  });

  it("within(tx) commits with the caller's records, and not at all when the caller throws", async () => {
    const { store, ipam } = await withSubnet('10.0.0.0/24');
    await expect(
      store.transaction(async (tx) => {
        const address = await ipam.within(tx).allocateAddress('10.0.0.0/24', 'web');
        tx.put('endpoints/web', { address });
        throw new Error('later step failed');
      }),
    ).rejects.toThrow('later step failed');
    expect(await ipam.listLeases('10.0.0.0/24')).toEqual([]);
    expect(await store.get('endpoints/web')).toBeUndefined();

    const routes = await ipam.hostRoutes();
    const result = await store.transaction(async (tx) => {
      const view = ipam.within(tx);
      const subnet = await view.allocateSubnet('net2', {}, routes);
      const address = await view.allocateAddress(subnet.subnet, 'web');
      // Reads inside the transaction see its own writes.
      expect(await view.listLeases(subnet.subnet)).toEqual([{ address, owner: 'web' }]);
      tx.put('endpoints/web', { address });
      return { subnet, address };
    });
    expect(result).toEqual({ subnet: { subnet: '172.17.0.0/16', gateway: '172.17.0.1' }, address: '172.17.0.2' });
    expect(await store.get('endpoints/web')).toEqual({ address: '172.17.0.2' });
  });

  it('calls hostRoutes before opening the transaction', async () => {
    const store = new MemoryStateStore();
    let inTransaction = false;
    const spy = {
      get: store.get.bind(store),
      list: store.list.bind(store),
      transaction: <T>(fn: Parameters<MemoryStateStore['transaction']>[0]) =>
        store.transaction(async (tx) => {
          inTransaction = true;
          try {
            return (await fn(tx)) as T;
          } finally {
            inTransaction = false;
          }
        }) as Promise<T>,
    };
    const seen: boolean[] = [];
    const ipam = new StoreIpam(spy, {
      hostRoutes: async () => {
        seen.push(inTransaction);
        return [];
      },
    });
    await ipam.allocateSubnet('a');
    expect(seen).toEqual([false]);
  });
});
