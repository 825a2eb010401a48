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

describe('Ipam.allocateSubnet from the pools', () => {
  it("hands out Docker's subnets in Docker's order", async () => {
    const ipam = new StoreIpam(new MemoryStateStore());
    const subnets: string[] = [];
    for (let i = 0; i < 17; i += 1) subnets.push((await ipam.allocateSubnet(`net${i}`)).subnet);
    expect(subnets.slice(0, 2)).toEqual(['172.17.0.0/16', '172.18.0.0/16']);
    expect(subnets[14]).toBe('172.31.0.0/16');
    expect(subnets.slice(15)).toEqual(['192.168.0.0/20', '192.168.16.0/20']);
  });

  it('fills in the gateway as the first address after the network address', async () => {
    const ipam = new StoreIpam(new MemoryStateStore());
    expect(await ipam.allocateSubnet('net1')).toEqual({ subnet: '172.17.0.0/16', gateway: '172.17.0.1' });
  });

  it('skips host routes and allocated subnets, and ignores default routes', async () => {
    let calls = 0;
    const ipam = new StoreIpam(new MemoryStateStore(), {
      hostRoutes: async () => {
        calls += 1;
        return ['0.0.0.0/0', '::/0', 'default', '172.18.5.0/24', '10.0.0.0/8', '172.20.0.1', 'fd00::/64'];
      },
    });
    await ipam.allocateSubnet('a', { subnet: '172.17.0.0/16' });
    expect((await ipam.allocateSubnet('b')).subnet).toBe('172.19.0.0/16');
    expect((await ipam.allocateSubnet('c')).subnet).toBe('172.21.0.0/16');
    expect(calls).toBe(3);
  });

  it('skips a host route that covers several pool subnets', async () => {
    const ipam = new StoreIpam(new MemoryStateStore(), { hostRoutes: async () => ['172.16.0.0/12', '192.168.0.0/19'] });
    expect((await ipam.allocateSubnet('a')).subnet).toBe('192.168.32.0/20');
  });

  it('reports ERR_ADDRESS_EXHAUSTED when every pool subnet is taken', async () => {
    const ipam = new StoreIpam(new MemoryStateStore(), { pools: [{ base: '10.10.0.0/23', size: 24 }] });
    expect((await ipam.allocateSubnet('a')).subnet).toBe('10.10.0.0/24');
    expect((await ipam.allocateSubnet('b')).subnet).toBe('10.10.1.0/24');
    const error = await rejection(ipam.allocateSubnet('c'), ErrorCode.ADDRESS_EXHAUSTED);
    expect(error.message).toContain('no free subnet in the address pools');
    await ipam.releaseSubnet('10.10.0.0/24');
    expect((await ipam.allocateSubnet('c')).subnet).toBe('10.10.0.0/24');
  });

  it('reports ERR_ADDRESS_EXHAUSTED when host routes cover the pools', async () => {
    const ipam = new StoreIpam(new MemoryStateStore(), { hostRoutes: async () => ['172.16.0.0/12', '192.168.0.0/16'] });
    await rejection(ipam.allocateSubnet('a'), ErrorCode.ADDRESS_EXHAUSTED);
  });

  it('needs an explicit subnet for IPv6 unless an IPv6 pool is given', async () => {
    const error = await rejection(new StoreIpam(new MemoryStateStore()).allocateSubnet('a', { family: 6 }), ErrorCode.INVALID_CONFIG);
    expect(error.message).toContain('IPv6 network needs an explicit subnet');

    const ipam = new StoreIpam(new MemoryStateStore(), { pools: [{ base: 'fd00:1::/48', size: 64 }] });
    expect(await ipam.allocateSubnet('a', { family: 6 })).toEqual({ subnet: 'fd00:1::/64', gateway: 'fd00:1::1' });
    expect((await ipam.allocateSubnet('b', { family: 6 })).subnet).toBe('fd00:1:0:1::/64');
    await rejection(ipam.allocateSubnet('c'), ErrorCode.INVALID_CONFIG);
  });

  it('refuses a gateway or ipRange without a subnet, and a bad family', async () => {
    const ipam = new StoreIpam(new MemoryStateStore());
    await rejection(ipam.allocateSubnet('a', { gateway: '172.17.0.1' }), ErrorCode.INVALID_CONFIG);
    await rejection(ipam.allocateSubnet('a', { ipRange: '172.17.0.0/24' }), ErrorCode.INVALID_CONFIG);
    await rejection(ipam.allocateSubnet('a', { family: 5 as 4 }), ErrorCode.INVALID_CONFIG);
    expect(await ipam.listSubnets()).toEqual([]);
  });

  it('rejects malformed pools at construction', () => {
    expect(() => new StoreIpam(new MemoryStateStore(), { pools: [{ base: '10.0.0.1/8', size: 16 }] })).toThrow(NetModeError);
  });
});

describe('Ipam.allocateSubnet with an explicit subnet', () => {
  it('canonicalises the subnet, gateway and ipRange', async () => {
    const ipam = new StoreIpam(new MemoryStateStore());
    expect(
      await ipam.allocateSubnet('a', { subnet: 'FD00:0:0:1::/64', gateway: 'fd00:0:0:1::fe', ipRange: 'fd00:0:0:1:0:0:0:0/80' }),
    ).toEqual({ subnet: 'fd00:0:0:1::/64', gateway: 'fd00:0:0:1::fe', ipRange: 'fd00:0:0:1::/80' });
  });

  it('refuses an overlap with an allocated subnet, naming it and its owner', async () => {
    const ipam = new StoreIpam(new MemoryStateStore());
    await ipam.allocateSubnet('net-a', { subnet: '10.1.0.0/16' });
    const error = await rejection(ipam.allocateSubnet('net-b', { subnet: '10.1.2.0/24' }), ErrorCode.SUBNET_OVERLAP);
    expect(error.message).toContain('10.1.0.0/16');
    expect(error.message).toContain('net-a');
    await rejection(ipam.allocateSubnet('net-b', { subnet: '10.1.0.0/16' }), ErrorCode.SUBNET_OVERLAP);
    await rejection(ipam.allocateSubnet('net-b', { subnet: '10.0.0.0/8' }), ErrorCode.SUBNET_OVERLAP);
    expect((await ipam.allocateSubnet('net-b', { subnet: '10.2.0.0/16' })).subnet).toBe('10.2.0.0/16');
  });

  it('refuses an overlap with a host route, naming the route', async () => {
    const ipam = new StoreIpam(new MemoryStateStore(), { hostRoutes: async () => ['0.0.0.0/0', '192.168.1.0/24', 'fd00::/64'] });
    const error = await rejection(ipam.allocateSubnet('a', { subnet: '192.168.0.0/16' }), ErrorCode.SUBNET_OVERLAP);
    expect(error.message).toContain('host route 192.168.1.0/24');
    await rejection(ipam.allocateSubnet('a', { subnet: 'fd00::/48' }), ErrorCode.SUBNET_OVERLAP);
    // The default route does not count.
    expect((await ipam.allocateSubnet('a', { subnet: '10.5.0.0/16' })).subnet).toBe('10.5.0.0/16');
  });

  it.each([
    [{ subnet: '172.17.0.1/16' }, '172.17.0.0/16'],
    [{ subnet: '10.0.1.300/24' }, 'not a valid IP address'],
    [{ subnet: '10.0.0.0/31' }, 'at most 30'],
    [{ subnet: 'fd00::/127' }, 'at most 126'],
    [{ subnet: '10.0.0.0/24', family: 6 as const }, 'IPv6 was requested'],
    [{ subnet: '10.0.0.0/24', gateway: '10.0.1.1' }, 'outside subnet'],
    [{ subnet: '10.0.0.0/24', gateway: '10.0.0.0' }, 'network address'],
    [{ subnet: '10.0.0.0/24', gateway: '10.0.0.255' }, 'broadcast address'],
    [{ subnet: '10.0.0.0/24', gateway: 'fd00::1' }, 'outside subnet'],
    [{ subnet: 'fd00::/64', gateway: 'fd00::' }, 'network address'],
    [{ subnet: '10.0.0.0/24', ipRange: '10.0.0.0/23' }, 'not inside subnet'],
    [{ subnet: '10.0.0.0/24', ipRange: '10.0.0.1/25' }, '10.0.0.0/25'],
    [{ subnet: '10.0.0.0/24', ipRange: 'fd00::/120' }, 'not inside subnet'],
  ])('refuses %j with ERR_INVALID_CONFIG (%s)', async (request, words) => {
    const ipam = new StoreIpam(new MemoryStateStore());
    const error = await rejection(ipam.allocateSubnet('a', request), ErrorCode.INVALID_CONFIG);
    expect(error.message).toContain(words);
    expect(await ipam.listSubnets()).toEqual([]);
  });

  it('accepts the last address of an IPv6 subnet as gateway (no broadcast in IPv6)', async () => {
    const ipam = new StoreIpam(new MemoryStateStore());
    expect((await ipam.allocateSubnet('a', { subnet: 'fd00::/126', gateway: 'fd00::3' })).gateway).toBe('fd00::3');
  });
});

describe('Ipam subnet records', () => {
  it('lists subnets in address order with their owners, and releases idempotently', async () => {
    const store = new MemoryStateStore();
    const ipam = new StoreIpam(store);
    await ipam.allocateSubnet('v6', { subnet: 'fd00::/64' });
    await ipam.allocateSubnet('b', { subnet: '10.2.0.0/16', ipRange: '10.2.1.0/24' });
    await ipam.allocateSubnet('a', { subnet: '9.0.0.0/16' });
    expect(await ipam.listSubnets()).toEqual([
      { subnet: '9.0.0.0/16', gateway: '9.0.0.1', owner: 'a' },
      { subnet: '10.2.0.0/16', gateway: '10.2.0.1', ipRange: '10.2.1.0/24', owner: 'b' },
      { subnet: 'fd00::/64', gateway: 'fd00::1', owner: 'v6' },
    ]);
    expect((await store.list('ipam/subnets')).map((e) => e.key)).toEqual([
      'ipam/subnets/4-10.2.0.0_16',
      'ipam/subnets/4-9.0.0.0_16',
      'ipam/subnets/6-fd00--_64',
    ]);
    await ipam.releaseSubnet('FD00::/64');
    await ipam.releaseSubnet('fd00::/64');
    await ipam.releaseSubnet('10.99.0.0/16');
    expect((await ipam.listSubnets()).map((s) => s.subnet)).toEqual(['9.0.0.0/16', '10.2.0.0/16']);
  });

  it('stores plain JSON and drops leases with the subnet', async () => {
    const store = new MemoryStateStore();
    const ipam = new StoreIpam(store);
    await ipam.allocateSubnet('net', { subnet: '10.0.0.0/24' });
    await ipam.allocateAddress('10.0.0.0/24', 'web');
    expect(await store.get('ipam/subnets/4-10.0.0.0_24')).toEqual({
      subnet: '10.0.0.0/24',
      gateway: '10.0.0.1',
      owner: 'net',
      lastAllocated: '10.0.0.2',
      leases: { '10.0.0.2': 'web' },
    });
    await ipam.releaseSubnet('10.0.0.0/24');
    await ipam.allocateSubnet('net2', { subnet: '10.0.0.0/24' });
    expect(await ipam.listLeases('10.0.0.0/24')).toEqual([]);
    expect(await ipam.allocateAddress('10.0.0.0/24', 'web')).toBe('10.0.0.2');
  });

  it('reports a damaged record as ERR_STATE_CORRUPT', async () => {
    const store = new MemoryStateStore();
    await store.transaction(async (tx) => tx.put('ipam/subnets/4-10.0.0.0_24', { subnet: '10.0.0.0/24', leases: [] }));
    await store.transaction(async (tx) =>
      tx.put('ipam/subnets/4-10.0.1.0_24', { subnet: '10.0.9.0/24', gateway: '10.0.9.1', owner: 'x', leases: {} }),
    );
    const ipam = new StoreIpam(store);
    await rejection(ipam.allocateAddress('10.0.0.0/24', 'a'), ErrorCode.STATE_CORRUPT);
    const error = await rejection(ipam.allocateAddress('10.0.1.0/24', 'a'), ErrorCode.STATE_CORRUPT);
    expect(error.message).toContain('4-10.0.1.0_24');
    await rejection(ipam.listSubnets(), ErrorCode.STATE_CORRUPT);
  });
});
