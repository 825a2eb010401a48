import { describe, expect, it } from 'vitest';
import { ErrorCode, NetModeError } from '../../src/errors.js';
import { StoreIpam } from '../../src/ipam/ipam.js';
import { bigIntToAddress, lastAddress, parseAddress, parseNetwork, type Cidr } from '../../src/net/address.js';
import { MemoryStateStore } from '../../src/store/memory-store.js';

// A small seeded PRNG (mulberry32), so a failing run can be replayed with
// IPAM_SEED=<seed>.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the test expects of one subnet, kept independently of IPAM. */
interface ModelSubnet {
  readonly subnet: string;
  readonly gateway: string;
  readonly ipRange: string | undefined;
  readonly key: string;
  readonly cidr: Cidr;
  readonly range: Cidr;
  readonly reserved: ReadonlySet<string>;
  readonly leases: Map<string, string>;
  last: bigint | undefined;
}

function model(subnet: string, key: string, gateway: string, ipRange?: string): ModelSubnet {
  const cidr = parseNetwork(subnet);
  const reserved = new Set([bigIntToAddress(cidr.network, cidr.family), gateway]);
  if (cidr.family === 4) reserved.add(bigIntToAddress(lastAddress(cidr), 4));
  const range = ipRange === undefined ? cidr : parseNetwork(ipRange);
  return { subnet, gateway, ipRange, key, cidr, range, reserved, leases: new Map(), last: undefined };
}

/** The address round-robin must pick next: walk the range from the pointer, by enumeration (the ranges are small). */
function expectedNext(m: ModelSubnet): string | undefined {
  const first = m.range.network;
  const end = lastAddress(m.range);
  let candidate = m.last !== undefined && m.last >= first && m.last < end ? m.last + 1n : first;
  for (let i = 0n; i < m.range.size; i += 1n) {
    const text = bigIntToAddress(candidate, m.cidr.family);
    if (!m.reserved.has(text) && !m.leases.has(text)) return text;
    candidate = candidate === end ? first : candidate + 1n;
  }
  return undefined;
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  const item = items[Math.floor(rand() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (error instanceof NetModeError) return error.code;
    throw error;
  }
}

describe('random allocations and releases', () => {
  const seed = Number(process.env.IPAM_SEED ?? 20240611);

  it(`never duplicates a lease and always matches the store over 10,000 steps (seed ${seed})`, async () => {
    const rand = mulberry32(seed);
    const store = new MemoryStateStore();
    let ipam = new StoreIpam(store);
    const subnets = [
      model('10.20.0.0/27', 'ipam/subnets/4-10.20.0.0_27', '10.20.0.1'),
      model('10.30.0.0/24', 'ipam/subnets/4-10.30.0.0_24', '10.30.0.17', '10.30.0.16/28'),
      model('fd00:9::/120', 'ipam/subnets/6-fd00-9--_120', 'fd00:9::1'),
    ];
    for (const m of subnets) {
      const request = { subnet: m.subnet, gateway: m.gateway, ...(m.ipRange === undefined ? {} : { ipRange: m.ipRange }) };
      await ipam.allocateSubnet(`net-${m.subnet}`, request);
    }
    const owners = Array.from({ length: 25 }, (_, i) => `owner-${i}`);
    const counts = { dynamic: 0, exhausted: 0, static: 0, inUse: 0, reserved: 0, release: 0, releaseOwner: 0, reopen: 0 };

    for (let step = 0; step < 10_000; step += 1) {
      const where = `seed ${seed}, step ${step}`;
      const m = pick(rand, subnets);
      const roll = rand();
      const live = [...m.leases.keys()];

      if (roll < 0.45) {
        const owner = pick(rand, owners);
        const expected = expectedNext(m);
        if (expected === undefined) {
          expect(await codeOf(ipam.allocateAddress(m.subnet, owner)), where).toBe(ErrorCode.ADDRESS_EXHAUSTED);
          counts.exhausted += 1;
        } else {
          const got = await ipam.allocateAddress(m.subnet, owner);
          expect(got, where).toBe(expected);
          expect(m.leases.has(got), `${where}: ${got} handed out twice`).toBe(false);
          m.leases.set(got, owner);
          m.last = parseAddress(got).value;
          counts.dynamic += 1;
        }
      } else if (roll < 0.55) {
        // A static request anywhere in the subnet, reserved addresses included.
        const offset = BigInt(Math.floor(rand() * Number(m.cidr.size)));
        const address = bigIntToAddress(m.cidr.network + offset, m.cidr.family);
        const owner = pick(rand, owners);
        const code = await codeOf(ipam.allocateAddress(m.subnet, owner, { address }));
        if (m.reserved.has(address)) {
          expect(code, where).toBe(ErrorCode.INVALID_CONFIG);
          counts.reserved += 1;
        } else if (m.leases.has(address)) {
          expect(code, where).toBe(ErrorCode.ADDRESS_IN_USE);
          counts.inUse += 1;
        } else {
          expect(code, where).toBeUndefined();
          m.leases.set(address, owner);
          counts.static += 1;
        }
      } else if (roll < 0.93) {
        if (live.length > 0) {
          const address = pick(rand, live);
          await ipam.releaseAddress(m.subnet, address);
          m.leases.delete(address);
          counts.release += 1;
        }
      } else if (roll < 0.97) {
        const owner = pick(rand, owners);
        let expected = 0;
        for (const s of subnets) {
          for (const [address, holder] of s.leases) {
            if (holder === owner) {
              s.leases.delete(address);
              expected += 1;
            }
          }
        }
        expect(await ipam.releaseOwner(owner), where).toBe(expected);
        counts.releaseOwner += 1;
      } else {
        // Another process, or a restart: a fresh Ipam on the same store.
        ipam = new StoreIpam(store);
        counts.reopen += 1;
      }

      for (const s of subnets) {
        // The model's map cannot hold a duplicate itself; the store's record
        // must equal it, and hold no reserved address.
        const record = await store.get<{ leases: Record<string, string>; lastAllocated?: string }>(s.key);
        expect(record?.leases, where).toEqual(Object.fromEntries(s.leases));
        expect(
          Object.keys(record?.leases ?? {}).filter((a) => s.reserved.has(a)),
          where,
        ).toEqual([]);
        expect(record?.lastAllocated, where).toBe(s.last === undefined ? undefined : bigIntToAddress(s.last, s.cidr.family));
      }
      if (step % 500 === 0) {
        for (const s of subnets) {
          const listed = await ipam.listLeases(s.subnet);
          expect(new Map(listed.map((l) => [l.address, l.owner])), where).toEqual(s.leases);
        }
      }
    }

    // The run must have exercised every branch, or it proves little.
    for (const [what, n] of Object.entries(counts)) expect(n, `${what} happened`).toBeGreaterThan(10);
  }, 60_000);
});
