import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { NameTable } from '../../src/names/name-table.js';
import { EmbeddedDnsServer } from '../../src/names/dns/embedded-dns-server.js';
import { addressesOf, askTcp, askUdp, decode, query, randomPort, TestUpstream } from './dns-test-kit.js';

// Addresses of this file: 127.0.13.0/24. Listeners at .1–.3, containers at
// .10 and up, upstreams at .200 and up.
const FRONT = '127.0.13.1';
const BACK = '127.0.13.2';
const SECRET = '127.0.13.3';
const WEB = '127.0.13.10';
const DB_FRONT = '127.0.13.11';
const DB_BACK = '127.0.13.21';
const CACHE = '127.0.13.22';
const SLOW_ASKER = '127.0.13.12';
const VAULT = '127.0.13.30';
const STRANGER = '127.0.13.99';
const WEB_ID = 'ab'.repeat(32);
const MANY = Array.from({ length: 60 }, (_, i) => `10.77.0.${i + 1}`);
const UPSTREAM_TIMEOUT_MS = 300;

const port = randomPort();
const upstreamPort = port + 1;
const logged: string[] = [];
let server: EmbeddedDnsServer;
let upstream: TestUpstream;
let silent: TestUpstream;
let impostor: ReturnType<typeof createSocket>;

function tableWith(extra: Partial<NameTable> = {}): NameTable {
  return {
    networks: [
      { id: 'n-front', name: 'front', address: FRONT, internal: false },
      { id: 'n-back', name: 'back', address: BACK, internal: false },
      { id: 'n-secret', name: 'secret', address: SECRET, internal: true },
      ...(extra.networks ?? []),
    ],
    sandboxes: [
      {
        containerId: WEB_ID,
        upstreams: [upstream.upstream],
        forward: true,
        endpoints: [{ networkId: 'n-front', names: [WEB_ID, WEB_ID.slice(0, 12), 'web', 'www'], addresses: [WEB] }],
      },
      {
        containerId: 'db-id',
        upstreams: [upstream.upstream],
        forward: true,
        endpoints: [
          { networkId: 'n-front', names: ['db-id', 'db', 'database'], addresses: [DB_FRONT] },
          { networkId: 'n-back', names: ['db-id', 'db'], addresses: [DB_BACK] },
        ],
      },
      {
        containerId: 'cache-id',
        upstreams: [upstream.upstream],
        forward: true,
        endpoints: [{ networkId: 'n-back', names: ['cache-id', 'cache'], addresses: [CACHE] }],
      },
      {
        containerId: 'many-id',
        upstreams: [],
        forward: true,
        endpoints: [{ networkId: 'n-front', names: ['many-id', 'many'], addresses: MANY }],
      },
      {
        // Its first upstream never answers, its second is not there at all.
        containerId: 'slow-id',
        upstreams: [silent.upstream, `127.0.13.202:${upstreamPort}`],
        forward: true,
        endpoints: [{ networkId: 'n-front', names: ['slow-id', 'slow'], addresses: [SLOW_ASKER] }],
      },
      {
        containerId: 'vault-id',
        upstreams: [upstream.upstream],
        forward: false,
        endpoints: [{ networkId: 'n-secret', names: ['vault-id', 'vault'], addresses: [VAULT] }],
      },
      ...(extra.sandboxes ?? []),
    ],
  };
}

beforeAll(async () => {
  impostor = createSocket('udp4');
  await new Promise<void>((resolve) => impostor.bind(0, '127.0.13.203', resolve));
  upstream = await new TestUpstream('127.0.13.200', upstreamPort, (name, reply) => {
    if (name === 'big.example') {
      const answers = Array.from({ length: 80 }, (_, i) => ({
        type: 'A' as const,
        class: 'IN' as const,
        name,
        ttl: 60,
        data: `192.0.2.${i + 1}`,
      }));
      return reply(answers);
    }
    if (name === 'wrong-id.example') return reply([{ type: 'A', class: 'IN', name, ttl: 60, data: '192.0.2.66' }], { id: 1 });
    if (name === 'wrong-question.example')
      return reply([{ type: 'A', class: 'IN', name, ttl: 60, data: '192.0.2.66' }], { name: 'other.example' });
    if (name === 'delayed.example') return 'silent';
    return undefined;
  }).start();
  silent = await new TestUpstream('127.0.13.201', upstreamPort, () => 'silent').start();
  server = new EmbeddedDnsServer({ port, upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS, log: (line) => logged.push(line) });
  const result = await server.update(tableWith());
  expect(result).toEqual({ listening: [FRONT, BACK, SECRET], failed: [] });
});

afterAll(async () => {
  await server.close();
  await upstream.stop();
  await silent.stop();
  impostor.close();
});

describe('EmbeddedDnsServer names', () => {
  it('answers a name, an alias, the id and the short id, authoritative, with RA and the asker id', async () => {
    for (const name of ['db', 'database', 'db-id', 'www', WEB_ID.slice(0, 12)]) {
      const reply = decode(await askUdp(query(name, 'A', { id: 777 }), WEB, FRONT, port));
      expect(reply.id, name).toBe(777);
      expect(reply.flag_aa && reply.flag_ra && reply.flag_qr, name).toBe(true);
      expect(addressesOf(reply).length, name).toBe(1);
    }
    expect(addressesOf(decode(await askUdp(query('db'), WEB, FRONT, port)))).toEqual([DB_FRONT]);
    expect(addressesOf(decode(await askUdp(query('www'), DB_FRONT, FRONT, port)))).toEqual([WEB]);
  });

  it('cannot be asked for a 64-digit id: a DNS label holds 63 bytes, so the query is malformed', async () => {
    const reply = decode(await askUdp(query(WEB_ID, 'A', { id: 778 }), DB_FRONT, FRONT, port));
    expect([reply.id, reply.rcodeNumber]).toEqual([778, 1]);
  });

  it('answers NAME.NETWORK in any case, and echoes the question as asked', async () => {
    const reply = decode(await askUdp(query('DB.Front'), WEB, FRONT, port));
    expect(addressesOf(reply)).toEqual([DB_FRONT]);
    expect(reply.questions?.[0]?.name).toBe('DB.Front');
    expect(reply.answers?.[0]).toMatchObject({ name: 'DB.Front', ttl: 600 });
  });

  it("gives the listener's network's addresses first", async () => {
    expect(addressesOf(decode(await askUdp(query('db'), CACHE, BACK, port)))).toEqual([DB_BACK]);
    expect(addressesOf(decode(await askUdp(query('db'), DB_BACK, BACK, port)))).toEqual([DB_BACK, DB_FRONT]);
    expect(addressesOf(decode(await askUdp(query('db'), DB_FRONT, FRONT, port)))).toEqual([DB_FRONT, DB_BACK]);
  });

  it("does not resolve another network's names: the question is forwarded instead", async () => {
    const before = upstream.received.length;
    const reply = decode(await askUdp(query('cache'), WEB, FRONT, port));
    expect(addressesOf(reply)).toEqual(['192.0.2.1']);
    expect(reply.flag_aa).toBe(false);
    expect(upstream.received.slice(before).map((r) => r.name)).toEqual(['cache']);
  });

  it('drops questions from unknown sources and from containers of other networks', async () => {
    expect(await askUdp(query('db'), STRANGER, FRONT, port, 300)).toBeUndefined();
    expect(await askUdp(query('db'), CACHE, FRONT, port, 300)).toBeUndefined();
    expect(await askTcp([query('db')], STRANGER, FRONT, port, 1, 300)).toEqual([]);
    // Even a malformed one gets no FORMERR: nothing at all goes back.
    expect(await askUdp(Buffer.from('0123456789abcdef'), STRANGER, FRONT, port, 300)).toBeUndefined();
  });

  it('answers NODATA for AAAA of a known name', async () => {
    const reply = decode(await askUdp(query('db', 'AAAA'), WEB, FRONT, port));
    expect(reply.rcodeNumber).toBe(0);
    expect(reply.answers).toEqual([]);
    expect(reply.flag_aa).toBe(true);
  });

  it('answers PTR for a container address', async () => {
    const reply = decode(await askUdp(query('11.13.0.127.in-addr.arpa', 'PTR'), WEB, FRONT, port));
    expect(reply.answers).toMatchObject([{ type: 'PTR', data: 'db-id.front' }]);
  });
});

describe('EmbeddedDnsServer forwarding', () => {
  it('forwards over UDP under a new id and restores the asker id', async () => {
    const before = upstream.received.length;
    const reply = decode(await askUdp(query('example.org', 'A', { id: 4321 }), WEB, FRONT, port));
    expect(reply.id).toBe(4321);
    expect(addressesOf(reply)).toEqual(['192.0.2.1']);
    expect(upstream.received.slice(before)).toMatchObject([{ name: 'example.org', transport: 'udp' }]);
  });

  it('forwards over TCP what came over TCP', async () => {
    const before = upstream.received.length;
    const replies = await askTcp([query('example.net', 'A', { id: 1 }), query('db', 'A', { id: 2 })], WEB, FRONT, port);
    const byId = new Map(replies.map((r) => [decode(r).id, decode(r)]));
    expect(addressesOf(byId.get(1) ?? decode(undefined))).toEqual(['192.0.2.1']);
    expect(addressesOf(byId.get(2) ?? decode(undefined))).toEqual([DB_FRONT]);
    expect(upstream.received.slice(before)).toMatchObject([{ name: 'example.net', transport: 'tcp' }]);
  });

  it('answers SERVFAIL when no upstream answers in time', async () => {
    const started = performance.now();
    const reply = decode(await askUdp(query('example.com'), SLOW_ASKER, FRONT, port));
    const elapsed = performance.now() - started;
    expect(reply.rcodeNumber).toBe(2);
    expect(elapsed).toBeGreaterThanOrEqual(UPSTREAM_TIMEOUT_MS - 20);
    expect(elapsed).toBeLessThan(UPSTREAM_TIMEOUT_MS * 4);
    expect(silent.received.map((r) => r.name)).toContain('example.com');
    const tcp = await askTcp([query('example.com')], SLOW_ASKER, FRONT, port);
    expect(decode(tcp[0]).rcodeNumber).toBe(2);
  });

  it('ignores an upstream answer with the wrong id, question or sender', async () => {
    for (const name of ['wrong-id.example', 'wrong-question.example']) {
      expect(decode(await askUdp(query(name), WEB, FRONT, port)).rcodeNumber, name).toBe(2);
    }
    // Answer from another address, to the very port the question came from.
    const received = upstream.received.length;
    const pending = askUdp(query('delayed.example', 'A', { id: 9 }), WEB, FRONT, port);
    await vi.waitFor(() => expect(upstream.received.length).toBeGreaterThan(received));
    const asked = upstream.received[upstream.received.length - 1];
    expect(asked?.name).toBe('delayed.example');
    const forged = dnsPacket.encode({
      type: 'response',
      id: asked?.id ?? 0,
      flags: dnsPacket.RECURSION_AVAILABLE,
      questions: [{ type: 'A', class: 'IN', name: 'delayed.example' }],
      answers: [{ type: 'A', class: 'IN', name: 'delayed.example', ttl: 60, data: '203.0.113.1' }],
    });
    impostor.send(forged, asked?.fromPort ?? 0, asked?.from ?? '');
    expect(decode(await pending).rcodeNumber).toBe(2);
  });

  it('refuses names not ours on an internal network and sends nothing out', async () => {
    const before = upstream.received.length;
    const reply = decode(await askUdp(query('example.org'), VAULT, SECRET, port));
    expect(reply.rcodeNumber).toBe(5);
    expect(addressesOf(decode(await askUdp(query('vault'), VAULT, SECRET, port)))).toEqual([VAULT]);
    expect(upstream.received.length).toBe(before);
  });

  it('truncates an upstream UDP answer larger than the question allows', async () => {
    const small = decode(await askUdp(query('big.example'), WEB, FRONT, port));
    expect(small.flag_tc).toBe(true);
    expect(small.answers).toEqual([]);
    const large = await askUdp(query('big.example', 'A', { edns: 4096 }), WEB, FRONT, port);
    expect(decode(large).flag_tc).toBe(false);
    expect(addressesOf(decode(large))).toHaveLength(80);
  });
});

describe('EmbeddedDnsServer sizes', () => {
  it('truncates a large local answer over UDP, and gives all of it over TCP', async () => {
    const udp = await askUdp(query('many'), WEB, FRONT, port);
    expect(udp?.length).toBeLessThanOrEqual(512);
    const truncated = decode(udp);
    expect(truncated.flag_tc).toBe(true);
    expect(truncated.answers).toEqual([]);
    expect(truncated.questions?.[0]?.name).toBe('many');
    const [tcp] = await askTcp([query('many')], WEB, FRONT, port);
    expect(tcp?.length).toBeGreaterThan(512);
    expect(addressesOf(decode(tcp))).toEqual(MANY);
  });

  it('answers many queries on one TCP connection, also after the client shut its side', async () => {
    const queries = Array.from({ length: 40 }, (_, i) => query(i % 2 === 0 ? 'db' : 'example.org', 'A', { id: 1000 + i }));
    for (const halfClose of [false, true]) {
      const replies = await askTcp(queries, WEB, FRONT, port, queries.length, 3000, halfClose);
      expect(replies.map((r) => decode(r).id).sort(), `halfClose ${halfClose}`).toEqual(queries.map((_, i) => 1000 + i));
      expect(replies.every((r) => decode(r).rcodeNumber === 0)).toBe(true);
    }
  });

  it('honours the EDNS0 payload size', async () => {
    const fits = await askUdp(query('many', 'A', { edns: 1400 }), WEB, FRONT, port);
    expect(decode(fits).flag_tc).toBe(false);
    expect(addressesOf(decode(fits))).toEqual(MANY);
    expect(decode(fits).additionals).toMatchObject([{ type: 'OPT' }]);
    const tooSmall = await askUdp(query('many', 'A', { edns: 1000 }), WEB, FRONT, port);
    expect(tooSmall?.length).toBeLessThanOrEqual(1000);
    expect(decode(tooSmall).flag_tc).toBe(true);
  });
});

describe('EmbeddedDnsServer malformed queries', () => {
  it('answers FORMERR to two questions and to a cut question, with the asker id', async () => {
    const two = dnsPacket.encode({
      type: 'query',
      id: 31,
      questions: [
        { type: 'A', name: 'db' },
        { type: 'A', name: 'web' },
      ],
    });
    const twoReply = decode(await askUdp(two, WEB, FRONT, port));
    expect([twoReply.id, twoReply.rcodeNumber, twoReply.flag_qr]).toEqual([31, 1, true]);
    const cut = query('database', 'A', { id: 32 }).subarray(0, 16);
    const cutReply = decode(await askUdp(cut, WEB, FRONT, port));
    expect([cutReply.id, cutReply.rcodeNumber]).toEqual([32, 1]);
  });

  it('answers NOTIMP to another opcode', async () => {
    const status = Buffer.from(query('db', 'A', { id: 33 }));
    status.writeUInt16BE(status.readUInt16BE(2) | (2 << 11), 2);
    const reply = decode(await askUdp(status, WEB, FRONT, port));
    expect([reply.id, reply.rcodeNumber]).toEqual([33, 4]);
  });

  it('drops a response and a message shorter than a header', async () => {
    const response = Buffer.from(query('db'));
    response.writeUInt16BE(response.readUInt16BE(2) | 0x8000, 2);
    expect(await askUdp(response, WEB, FRONT, port, 300)).toBeUndefined();
    expect(await askUdp(Buffer.from([1, 2, 3]), WEB, FRONT, port, 300)).toBeUndefined();
    expect(logged.some((line) => line.includes('a response, not a query'))).toBe(true);
  });
});

describe('EmbeddedDnsServer.update', () => {
  it('opens listeners for new networks, closes those gone, and answers from the new table at once', async () => {
    const extra = '127.0.13.4';
    const newcomer = '127.0.13.40';
    const added = await server.update(
      tableWith({
        networks: [{ id: 'n-extra', name: 'extra', address: extra, internal: false }],
        sandboxes: [
          {
            containerId: 'new-id',
            upstreams: [],
            forward: true,
            endpoints: [{ networkId: 'n-extra', names: ['new-id', 'newcomer'], addresses: [newcomer] }],
          },
        ],
      }),
    );
    expect(added.listening).toContain(extra);
    expect(addressesOf(decode(await askUdp(query('newcomer'), newcomer, extra, port)))).toEqual([newcomer]);

    const removed = await server.update(tableWith());
    expect(removed.listening).not.toContain(extra);
    expect(await askUdp(query('newcomer'), newcomer, extra, port, 300)).toBeUndefined();
  });

  it('reports an address it cannot bind instead of throwing, and keeps serving the others', async () => {
    const taken = '127.0.13.5';
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, taken, resolve));
    try {
      const result = await server.update(
        tableWith({
          networks: [
            { id: 'n-taken', name: 'taken', address: taken, internal: false },
            { id: 'n-foreign', name: 'foreign', address: '192.0.2.250', internal: false },
          ],
          sandboxes: [
            {
              containerId: 'x-id',
              upstreams: [],
              forward: true,
              endpoints: [
                { networkId: 'n-taken', names: ['x'], addresses: ['127.0.13.50'] },
                { networkId: 'n-foreign', names: ['x'], addresses: ['192.0.2.251'] },
              ],
            },
          ],
        }),
      );
      expect(result.failed).toEqual([
        { address: taken, error: expect.stringContaining('EADDRINUSE') as unknown as string },
        { address: '192.0.2.250', error: expect.stringContaining('EADDRNOTAVAIL') as unknown as string },
      ]);
      expect(result.listening).toEqual(expect.arrayContaining([FRONT, BACK, SECRET]));
      expect(addressesOf(decode(await askUdp(query('db'), WEB, FRONT, port)))).toEqual([DB_FRONT]);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
      await server.update(tableWith());
    }
  });

  it('stays safe when the table changes while questions are in flight', async () => {
    // slow-id's forwards take the whole timeout; drop slow-id and the front network meanwhile.
    const inFlight = [
      askUdp(query('pending.example'), SLOW_ASKER, FRONT, port, 1500),
      askTcp([query('pending.example')], SLOW_ASKER, FRONT, port, 1, 1500),
    ];
    await new Promise((resolve) => setTimeout(resolve, 50));
    const withoutFront = tableWith();
    await server.update({ networks: withoutFront.networks.filter((n) => n.id !== 'n-front'), sandboxes: withoutFront.sandboxes });
    const [udp, tcp] = await Promise.all(inFlight);
    // The listener is gone: no reply, and no crash.
    expect(udp).toBeUndefined();
    expect(tcp).toEqual([]);
    await server.update(tableWith());
    expect(addressesOf(decode(await askUdp(query('db'), WEB, FRONT, port)))).toEqual([DB_FRONT]);
  });
});
