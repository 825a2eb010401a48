import { describe, expect, it } from 'vitest';
import type { Question } from 'dns-packet';
import type { NameTable } from '../../src/names/name-table.js';
import { decideAnswer, LOCAL_TTL_SECONDS, type QueryDecision } from '../../src/names/dns/decide-answer.js';
import { indexNameTable } from '../../src/names/dns/name-index.js';

const WEB_ID = 'a'.repeat(64);

const table: NameTable = {
  networks: [
    { id: 'n-front', name: 'front', address: '10.1.0.1', internal: false },
    { id: 'n-back', name: 'Back', address: '10.2.0.1', internal: false },
    { id: 'n-secret', name: 'secret', address: '10.3.0.1', internal: true },
  ],
  sandboxes: [
    {
      containerId: WEB_ID,
      upstreams: ['192.0.2.53', '192.0.2.54:5353', 'not-an-ip'],
      forward: true,
      endpoints: [{ networkId: 'n-front', names: [WEB_ID, 'aaaaaaaaaaaa', 'web', 'www'], addresses: ['10.1.0.2'] }],
    },
    {
      containerId: 'db-id',
      upstreams: ['192.0.2.53'],
      forward: true,
      endpoints: [
        { networkId: 'n-front', names: ['db-id', 'db', 'database'], addresses: ['10.1.0.3'] },
        { networkId: 'n-back', names: ['db-id', 'db', 'store.v1'], addresses: ['10.2.0.3'] },
      ],
    },
    {
      containerId: 'cache-id',
      upstreams: [],
      forward: true,
      endpoints: [{ networkId: 'n-back', names: ['cache-id', 'cache'], addresses: ['10.2.0.4'] }],
    },
    {
      containerId: 'vault-id',
      upstreams: ['192.0.2.53'],
      forward: false,
      endpoints: [{ networkId: 'n-secret', names: ['vault-id', 'vault'], addresses: ['10.3.0.2'] }],
    },
  ],
};

const skipped: string[] = [];
const index = indexNameTable(table, (message) => skipped.push(message));

function decide(networkId: string, source: string, name: string, type: Question['type'] = 'A'): QueryDecision {
  return decideAnswer(index, { networkId, source, question: { name, type, class: 'IN' } });
}

function addresses(decision: QueryDecision): string[] {
  if (decision.action !== 'answer') throw new Error(`expected an answer, got ${decision.action}`);
  return decision.answers.map((a) => (a as { data: string }).data);
}

describe('decideAnswer', () => {
  it('answers a container name, an alias, the id and the short id with A records', () => {
    for (const name of ['web', 'www', WEB_ID, 'aaaaaaaaaaaa'])
      expect(addresses(decide('n-front', '10.1.0.3', name)), name).toEqual(['10.1.0.2']);
  });

  it('answers NAME.NETWORK, ignoring case and a trailing dot', () => {
    expect(addresses(decide('n-front', '10.1.0.2', 'DB.Front'))).toEqual(['10.1.0.3']);
    expect(addresses(decide('n-front', '10.1.0.2', 'Web.'))).toEqual(['10.1.0.2']);
    // The network's own name is matched without regard to case too.
    expect(addresses(decide('n-back', '10.2.0.4', 'db.back'))).toEqual(['10.2.0.3']);
    // A name with a dot of its own, alone and with its network.
    expect(addresses(decide('n-back', '10.2.0.4', 'store.v1'))).toEqual(['10.2.0.3']);
    expect(addresses(decide('n-back', '10.2.0.4', 'store.v1.back'))).toEqual(['10.2.0.3']);
  });

  it('keeps the owner name as asked, with the TTL of local answers', () => {
    const decision = decide('n-front', '10.1.0.2', 'DB');
    expect(decision).toEqual({
      action: 'answer',
      answers: [{ type: 'A', class: 'IN', name: 'DB', ttl: LOCAL_TTL_SECONDS, data: '10.1.0.3' }],
    });
  });

  it("puts the addresses on the listener's network first", () => {
    // db is on front and back; so is nobody else, so ask as db itself.
    expect(addresses(decide('n-front', '10.1.0.3', 'db'))).toEqual(['10.1.0.3', '10.2.0.3']);
    expect(addresses(decide('n-back', '10.2.0.3', 'db'))).toEqual(['10.2.0.3', '10.1.0.3']);
  });

  it('never gives a name from a network the asker is not on', () => {
    // web is on front only: cache lives on back, and db's back-only alias and
    // address stay unknown to it; the question goes upstream like any other.
    expect(decide('n-front', '10.1.0.2', 'cache').action).toBe('forward');
    expect(decide('n-front', '10.1.0.2', 'store.v1').action).toBe('forward');
    expect(decide('n-front', '10.1.0.2', 'db.back').action).toBe('forward');
    expect(addresses(decide('n-front', '10.1.0.2', 'db'))).toEqual(['10.1.0.3']);
    expect(decide('n-front', '10.1.0.2', '4.0.2.10.in-addr.arpa', 'PTR').action).toBe('forward');
  });

  it('drops a question from an address that is no container on the listener network', () => {
    expect(decide('n-front', '10.9.9.9', 'web')).toEqual({ action: 'drop' });
    // cache is a container, but not on front: its question on front's listener is dropped.
    expect(decide('n-front', '10.2.0.4', 'db')).toEqual({ action: 'drop' });
    expect(decide('n-unknown', '10.1.0.2', 'db')).toEqual({ action: 'drop' });
  });

  it('answers NODATA for another type of a known name', () => {
    expect(decide('n-front', '10.1.0.2', 'db', 'AAAA')).toEqual({ action: 'answer', answers: [] });
    expect(decide('n-front', '10.1.0.2', 'db', 'TXT')).toEqual({ action: 'answer', answers: [] });
  });

  it("answers PTR for a container address with the endpoint's first name and the network", () => {
    const decision = decide('n-front', '10.1.0.2', '3.0.1.10.in-addr.arpa', 'PTR');
    expect(decision).toEqual({
      action: 'answer',
      answers: [{ type: 'PTR', class: 'IN', name: '3.0.1.10.in-addr.arpa', ttl: LOCAL_TTL_SECONDS, data: 'db-id.front' }],
    });
    expect(addresses(decide('n-back', '10.2.0.3', '4.0.2.10.IN-ADDR.ARPA.', 'PTR'))).toEqual(['cache-id.Back']);
    expect(decide('n-front', '10.1.0.2', '3.0.1.10.in-addr.arpa', 'A')).toEqual({ action: 'answer', answers: [] });
    // Not an address of ours, or not an address at all.
    expect(decide('n-front', '10.1.0.2', '99.0.1.10.in-addr.arpa', 'PTR').action).toBe('forward');
    expect(decide('n-front', '10.1.0.2', '03.0.1.10.in-addr.arpa', 'PTR').action).toBe('forward');
  });

  it('forwards other names to the parsed upstreams, in order', () => {
    expect(decide('n-front', '10.1.0.2', 'example.org')).toEqual({
      action: 'forward',
      upstreams: [
        { address: '192.0.2.53', port: 53 },
        { address: '192.0.2.54', port: 5353 },
      ],
    });
    expect(skipped.some((line) => line.includes('not-an-ip'))).toBe(true);
  });

  it('refuses other names when the sandbox may not forward or has no upstream', () => {
    expect(decide('n-secret', '10.3.0.2', 'example.org')).toEqual({ action: 'refuse' });
    expect(addresses(decide('n-secret', '10.3.0.2', 'vault'))).toEqual(['10.3.0.2']);
    expect(decide('n-back', '10.2.0.4', 'example.org')).toEqual({ action: 'refuse' });
  });

  it('treats another class as not ours', () => {
    const decision = decideAnswer(index, { networkId: 'n-front', source: '10.1.0.2', question: { name: 'web', type: 'A', class: 'CH' } });
    expect(decision.action).toBe('forward');
  });
});
