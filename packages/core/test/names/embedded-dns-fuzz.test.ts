import { randomBytes, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedDnsServer } from '../../src/names/dns/embedded-dns-server.js';
import { addressesOf, askTcp, askUdp, decode, frame, query, randomPort, TestUpstream } from './dns-test-kit.js';

// Addresses of this file: 127.0.14.0/24.
const LISTENER = '127.0.14.1';
const CLIENT = '127.0.14.10';
const PEER = '127.0.14.11';
const RANDOM_MESSAGES = 3000;
const MUTATED_MESSAGES = 2000;

const port = randomPort() + 10_000;
const logged: string[] = [];
let server: EmbeddedDnsServer;
let upstream: TestUpstream;

const seeds = [
  query('peer'),
  query('peer.fuzz', 'AAAA'),
  query('11.14.0.127.in-addr.arpa', 'PTR'),
  query('example.org', 'A', { edns: 4096 }),
  query('a.much.longer.name.example.org', 'TXT', { edns: 1232 }),
];

/** A valid query with a few bytes changed, cut short or lengthened. */
function mutated(): Buffer {
  const seed = Buffer.from(seeds[randomInt(seeds.length)] as Buffer);
  switch (randomInt(4)) {
    case 0:
      return seed.subarray(0, randomInt(seed.length));
    case 1:
      return Buffer.concat([seed, randomBytes(randomInt(1, 64))]);
    default:
      for (let flips = randomInt(1, 5); flips > 0; flips--) seed[randomInt(seed.length)] = randomInt(256);
      // Keep most of them queries with opcode QUERY, so they reach the decoder.
      if (randomInt(4) > 0) seed[2] = (seed[2] as number) & 0x07;
      return seed;
  }
}

beforeAll(async () => {
  upstream = await new TestUpstream('127.0.14.200', port + 1).start();
  server = new EmbeddedDnsServer({ port, upstreamTimeoutMs: 200, log: (line) => logged.push(line) });
  await server.update({
    networks: [{ id: 'n-fuzz', name: 'fuzz', address: LISTENER, internal: false }],
    sandboxes: [
      {
        containerId: 'client-id',
        upstreams: [upstream.upstream],
        forward: true,
        endpoints: [{ networkId: 'n-fuzz', names: ['client-id', 'client'], addresses: [CLIENT] }],
      },
      {
        containerId: 'peer-id',
        upstreams: [],
        forward: true,
        endpoints: [{ networkId: 'n-fuzz', names: ['peer-id', 'peer'], addresses: [PEER] }],
      },
    ],
  });
});

afterAll(async () => {
  await server.close();
  await upstream.stop();
});

async function expectStillAnswering(): Promise<void> {
  expect(addressesOf(decode(await askUdp(query('peer'), CLIENT, LISTENER, port)))).toEqual([PEER]);
  const [overTcp] = await askTcp([query('peer')], CLIENT, LISTENER, port);
  expect(addressesOf(decode(overTcp))).toEqual([PEER]);
}

describe('EmbeddedDnsServer under random input', () => {
  it('survives thousands of random and mutated messages over UDP', async () => {
    const socket = createSocket('udp4');
    let replies = 0;
    socket.on('message', () => (replies += 1));
    await new Promise<void>((resolve) => socket.bind(0, CLIENT, resolve));
    try {
      for (let i = 0; i < RANDOM_MESSAGES + MUTATED_MESSAGES; i++) {
        const message = i < RANDOM_MESSAGES ? randomBytes(randomInt(0, 600)) : mutated();
        await new Promise<void>((resolve) => socket.send(message, port, LISTENER, () => resolve()));
        // Let the server keep up: a full socket buffer would only lose messages, not test anything.
        if (i % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      // Forwards of mutated queries may still be timing out.
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      socket.close();
    }
    // Random headers mostly draw FORMERR or NOTIMP: the decoder did run.
    expect(replies).toBeGreaterThan(RANDOM_MESSAGES / 4);
    expect(logged.length).toBeGreaterThan(0);
    await expectStillAnswering();
  });

  it('survives random bytes, random frames and mutated queries over TCP', async () => {
    const connections = Array.from({ length: 30 }, (_, i) => {
      const socket = connect({ host: LISTENER, port, localAddress: CLIENT });
      socket.on('error', () => {});
      socket.on('connect', () => {
        const chunks: Buffer[] = [];
        for (let j = 0; j < 100; j++) {
          if (i % 3 === 0) chunks.push(randomBytes(randomInt(1, 300)));
          else if (i % 3 === 1) chunks.push(frame(randomBytes(randomInt(0, 300))));
          else chunks.push(frame(mutated()));
        }
        // One in ten stops halfway through a frame and stays silent.
        socket.write(Buffer.concat(chunks));
        if (i % 10 === 9) socket.write(Buffer.from([0xff, 0xff, 1, 2, 3]));
        else setTimeout(() => socket.end(), 300);
      });
      return socket;
    });
    await new Promise((resolve) => setTimeout(resolve, 800));
    await expectStillAnswering();
    for (const socket of connections) socket.destroy();
  });
});
