import { describe, expect, it } from 'vitest';
import { ErrorCode, NetModeError, isNetModeError } from '../../src/errors.js';
import { StorePortAllocator } from '../../src/ports/port-allocator.js';
import { MemoryStateStore } from '../../src/store/memory-store.js';
import type { HostPortHolder } from '../../src/ports/types.js';

const allocator = (range: [number, number] = [40000, 40009]) => {
  let asked = 0;
  const ports = new StorePortAllocator(new MemoryStateStore(), {
    ephemeralRange: async () => {
      asked += 1;
      return range;
    },
  });
  return { ports, asked: () => asked };
};

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return isNetModeError(error) ? error.code : String(error);
  }
}

describe('PortAllocator', () => {
  it('allocateWith commits the leases and the other work together, or neither', async () => {
    const store = new MemoryStateStore();
    const ports = new StorePortAllocator(store, { ephemeralRange: async () => [40000, 40009] });
    const both = await ports.allocateWith('a', [{ protocol: 'tcp', hostPort: 8080, count: 1 }], async (tx) => {
      tx.put('other/a', { ok: true });
      return 'done';
    });
    expect(both).toEqual({ leases: [{ owner: 'a', protocol: 'tcp', hostPort: 8080, count: 1 }], result: 'done' });
    expect(await store.get('other/a')).toEqual({ ok: true });

    // The other work fails: no lease either.
    const failed = ports.allocateWith('b', [{ protocol: 'tcp', hostPort: 9090, count: 1 }], async (tx) => {
      tx.put('other/b', { ok: true });
      throw new Error('exhausted');
    });
    await expect(failed).rejects.toThrow('exhausted');
    expect(await store.get('other/b')).toBeUndefined();
    expect((await ports.list()).map((l) => l.hostPort)).toEqual([8080]);

    // A port conflict: the other work never runs.
    let ran = false;
    const conflict = ports.allocateWith('c', [{ protocol: 'tcp', hostPort: 8080, count: 1 }], async () => {
      ran = true;
    });
    expect(await code(conflict)).toBe(ErrorCode.PORT_ALLOCATED);
    expect(ran).toBe(false);
  });

  it('leases fixed ports and refuses any overlap on the same protocol and address', async () => {
    const { ports, asked } = allocator();
    await ports.allocate('a', [{ protocol: 'tcp', hostPort: 8080, count: 1 }]);
    expect(await code(ports.allocate('b', [{ protocol: 'tcp', hostPort: 8080, count: 1 }]))).toBe(ErrorCode.PORT_ALLOCATED);
    expect(await code(ports.allocate('b', [{ protocol: 'tcp', hostIp: '10.0.0.1', hostPort: 8080, count: 1 }]))).toBe(
      ErrorCode.PORT_ALLOCATED,
    );
    expect(await code(ports.allocate('b', [{ protocol: 'tcp', hostPort: 8078, count: 3 }]))).toBe(ErrorCode.PORT_ALLOCATED);
    // Another protocol, or the next port, is free.
    await ports.allocate('b', [{ protocol: 'udp', hostPort: 8080, count: 1 }]);
    await ports.allocate('c', [{ protocol: 'tcp', hostPort: 8081, count: 1 }]);
    expect(asked()).toBe(0);
  });

  it('lets two specific host addresses share a port, but not with every-address', async () => {
    const { ports } = allocator();
    await ports.allocate('a', [{ protocol: 'tcp', hostIp: '10.0.0.1', hostPort: 80, count: 1 }]);
    await ports.allocate('b', [{ protocol: 'tcp', hostIp: '10.0.0.2', hostPort: 80, count: 1 }]);
    expect(await code(ports.allocate('c', [{ protocol: 'tcp', hostPort: 80, count: 1 }]))).toBe(ErrorCode.PORT_ALLOCATED);
  });

  it('is all or nothing: a conflict later in the list leases nothing', async () => {
    const { ports } = allocator();
    await ports.allocate('a', [{ protocol: 'tcp', hostPort: 9000, count: 1 }]);
    const failed = ports.allocate('b', [
      { protocol: 'tcp', hostPort: 9001, count: 1 },
      { protocol: 'tcp', hostPort: 9000, count: 1 },
    ]);
    expect(await code(failed)).toBe(ErrorCode.PORT_ALLOCATED);
    expect((await ports.list()).map((l) => l.owner)).toEqual(['a']);
    // Two ranges of one request that overlap each other also conflict.
    const self = ports.allocate('b', [
      { protocol: 'tcp', hostPort: 9100, count: 2 },
      { protocol: 'tcp', hostPort: 9101, count: 1 },
    ]);
    expect(await code(self)).toBe(ErrorCode.PORT_ALLOCATED);
  });

  it('picks ephemeral ports round-robin in the host range, skipping taken ones, until exhausted', async () => {
    const { ports } = allocator([40000, 40003]);
    await ports.allocate('fixed', [{ protocol: 'tcp', hostPort: 40001, count: 1 }]);
    const [a] = await ports.allocate('a', [{ protocol: 'tcp', count: 1 }]);
    const [b] = await ports.allocate('b', [{ protocol: 'tcp', count: 1 }]);
    expect([a?.hostPort, b?.hostPort]).toEqual([40000, 40002]);
    await ports.releaseOwner('a');
    const [c] = await ports.allocate('c', [{ protocol: 'tcp', count: 1 }]);
    expect(c?.hostPort).toBe(40003);
    const [d] = await ports.allocate('d', [{ protocol: 'tcp', count: 1 }]);
    expect(d?.hostPort).toBe(40000);
    expect(await code(ports.allocate('e', [{ protocol: 'tcp', count: 1 }]))).toBe(ErrorCode.ADDRESS_EXHAUSTED);
    expect(await code(ports.allocate('e', [{ protocol: 'tcp', count: 5 }]))).toBe(ErrorCode.ADDRESS_EXHAUSTED);
  });

  it('releases by owner, idempotently', async () => {
    const { ports } = allocator();
    await ports.allocate('a', [
      { protocol: 'tcp', hostPort: 80, count: 1 },
      { protocol: 'udp', hostPort: 53, count: 1 },
    ]);
    expect(await ports.releaseOwner('a')).toBe(2);
    expect(await ports.releaseOwner('a')).toBe(0);
    expect(await ports.list()).toEqual([]);
  });

  it('refuses malformed requests', async () => {
    const { ports } = allocator();
    expect(await code(ports.allocate('a', [{ protocol: 'tcp', hostPort: 65535, count: 2 }]))).toBe(ErrorCode.INVALID_CONFIG);
    expect(await code(ports.allocate('a', [{ protocol: 'tcp', hostPort: 80, count: 0 }]))).toBe(ErrorCode.INVALID_CONFIG);
    expect(await code(ports.allocate('a', [{ protocol: 'tcp', hostPort: -1, count: 1 }]))).toBe(ErrorCode.INVALID_CONFIG);
  });
});

/** A holder that refuses the ports in `busy` (as the companion does a port a host process has) and logs its calls. */
function fakeHolder(busy: ReadonlySet<number>) {
  const calls: string[] = [];
  const holder: HostPortHolder = {
    prepare: async () => void calls.push('prepare'),
    hold: async (owner, leases) => {
      calls.push(`hold ${owner} ${leases.map((l) => `${l.protocol}/${l.hostPort}`).join(',')}`);
      const taken = leases.find((l) => busy.has(l.hostPort));
      if (taken) {
        throw new NetModeError(ErrorCode.PORT_ALLOCATED, `host port ${taken.hostPort}/tcp is in use by nginx (pid 1)`, {
          context: { busy: [{ protocol: taken.protocol, hostPort: taken.hostPort }] },
        });
      }
    },
    release: async (owner) => void calls.push(`release ${owner}`),
  };
  return { holder, calls };
}

describe('PortAllocator with a holder', () => {
  it('binds inside the transaction; a port in use records nothing and lets go of what was bound', async () => {
    const { holder, calls } = fakeHolder(new Set([8090]));
    const store = new MemoryStateStore();
    const ports = new StorePortAllocator(store, { ephemeralRange: async () => [40000, 40009], holder });
    const refused = ports.allocate('a', [{ protocol: 'tcp', hostPort: 8090, count: 1 }]);
    await expect(refused).rejects.toThrow(/in use by nginx/);
    expect(await ports.list()).toEqual([]);
    expect(calls).toEqual(['prepare', 'hold a tcp/8090', 'release a']);
    expect(await ports.allocate('b', [{ protocol: 'tcp', hostPort: 8091, count: 1, proxy: true }])).toEqual([
      { protocol: 'tcp', hostPort: 8091, count: 1, owner: 'b', proxy: true },
    ]);
    await ports.releaseOwner('b');
    expect(calls.slice(-1)).toEqual(['release b']);
  });

  it('skips an ephemeral port a host process has, and fails on a named one', async () => {
    const { holder, calls } = fakeHolder(new Set([40000, 40001]));
    const ports = new StorePortAllocator(new MemoryStateStore(), { ephemeralRange: async () => [40000, 40009], holder });
    expect((await ports.allocate('a', [{ protocol: 'tcp', count: 1 }]))[0]?.hostPort).toBe(40002);
    expect(calls.filter((c) => c.startsWith('hold'))).toEqual(['hold a tcp/40000', 'hold a tcp/40001', 'hold a tcp/40002']);
    expect(await code(ports.allocate('b', [{ protocol: 'tcp', hostPort: 40001, count: 1 }]))).toBe(ErrorCode.PORT_ALLOCATED);
  });

  it('refuses the userland proxy when nothing holds ports', async () => {
    const { ports } = allocator();
    expect(await code(ports.allocate('a', [{ protocol: 'tcp', hostPort: 8080, count: 1, proxy: true }]))).toBe(ErrorCode.INVALID_CONFIG);
  });
});

describe('PortAllocator when the holder goes away', () => {
  it('starts the holder again once when it went between prepare() and the transaction', async () => {
    const calls: string[] = [];
    let gone = true;
    const holder: HostPortHolder = {
      prepare: async () => void calls.push('prepare'),
      hold: async () => {
        calls.push('hold');
        if (gone) {
          gone = false;
          throw new NetModeError(ErrorCode.PORT_HOLDER, 'the companion process that holds published host ports stopped answering');
        }
      },
      release: async () => void calls.push('release'),
    };
    const ports = new StorePortAllocator(new MemoryStateStore(), { ephemeralRange: async () => [40000, 40009], holder });
    expect(await ports.allocate('a', [{ protocol: 'tcp', hostPort: 8080, count: 1 }])).toHaveLength(1);
    expect(calls).toEqual(['prepare', 'hold', 'release', 'prepare', 'hold']);
  });
});
