import type { Answer, Question } from 'dns-packet';
import type { NameTableEndpoint } from '../name-table.js';
import { findAsker, type IndexedNetwork, type NameIndex, type Upstream } from './name-index.js';

/**
 * What the embedded DNS server does with one question, decided from the
 * name table alone (no sockets), the way Docker's embedded DNS server and
 * podman's aardvark-dns decide it.
 *
 * @module
 */

/** TTL of the server's own answers, as Docker's embedded server gives them. */
export const LOCAL_TTL_SECONDS = 600;

/** A question that reached a listener. */
export interface QueryContext {
  /** The id of the network whose listener it reached. */
  readonly networkId: string;
  /** The address it came from. */
  readonly source: string;
  /** The question, as dns-packet decodes it. */
  readonly question: Question;
}

/** The server's decision on one question. */
export type QueryDecision =
  /** The source is no container on the listener's network: no reply at all. */
  | { readonly action: 'drop' }
  /** A name of ours: an authoritative answer, empty for NODATA. */
  | { readonly action: 'answer'; readonly answers: readonly Answer[] }
  /** Not ours: ask these servers in order. */
  | { readonly action: 'forward'; readonly upstreams: readonly Upstream[] }
  /** Not ours and nowhere to send it (internal network, or no upstream). */
  | { readonly action: 'refuse' };

/**
 * Decides what to do with `query`. Pure: the same index and query give the
 * same decision.
 *
 * Only a container on the listener's network is answered, and it sees the
 * names on the networks it shares with their owners: a name that exists
 * only on a network the asker is not on is not ours to it, and goes where
 * every other name goes.
 */
export function decideAnswer(index: NameIndex, query: QueryContext): QueryDecision {
  const asker = findAsker(index, query.networkId, query.source);
  if (asker === undefined) return { action: 'drop' };
  // The listener's network first, so its addresses come first in answers.
  const shared = [query.networkId, ...asker.networkIds.filter((id) => id !== query.networkId)]
    .map((id) => index.networks.get(id))
    .filter((n): n is IndexedNetwork => n !== undefined);

  const { question } = query;
  if (question.class === undefined || question.class === 'IN') {
    const name = question.name.toLowerCase().replace(/\.$/, '');
    const found = findByName(shared, name);
    if (found.length > 0) return { action: 'answer', answers: question.type === 'A' ? addressAnswers(question.name, found) : [] };
    const reverse = findByReverseName(shared, name);
    if (reverse !== undefined) return { action: 'answer', answers: question.type === 'PTR' ? [pointerAnswer(question.name, reverse)] : [] };
  }
  if (asker.sandbox.forward && asker.upstreams.length > 0) return { action: 'forward', upstreams: asker.upstreams };
  return { action: 'refuse' };
}

interface Found {
  readonly network: IndexedNetwork;
  readonly endpoint: NameTableEndpoint;
}

function findByName(shared: readonly IndexedNetwork[], name: string): Found[] {
  const found: Found[] = [];
  const add = (network: IndexedNetwork, endpoints: readonly NameTableEndpoint[] | undefined) => {
    for (const endpoint of endpoints ?? []) {
      if (!found.some((f) => f.endpoint === endpoint)) found.push({ network, endpoint });
    }
  };
  for (const network of shared) add(network, network.names.get(name));
  // NAME.NETWORK: a name may hold dots itself (an alias `db.internal`), so try every split.
  for (let dot = name.indexOf('.'); dot > 0; dot = name.indexOf('.', dot + 1)) {
    const suffix = name.slice(dot + 1);
    for (const network of shared) {
      if (network.lowerName === suffix) add(network, network.names.get(name.slice(0, dot)));
    }
  }
  return found;
}

const REVERSE_SUFFIX = '.in-addr.arpa';
const OCTET = /^(0|[1-9][0-9]{0,2})$/;

function findByReverseName(shared: readonly IndexedNetwork[], name: string): Found | undefined {
  if (!name.endsWith(REVERSE_SUFFIX)) return undefined;
  const octets = name.slice(0, -REVERSE_SUFFIX.length).split('.');
  if (octets.length !== 4 || !octets.every((o) => OCTET.test(o) && Number(o) <= 255)) return undefined;
  const address = octets.reverse().join('.');
  for (const network of shared) {
    const endpoint = network.addresses.get(address);
    if (endpoint !== undefined && endpoint.names.length > 0) return { network, endpoint };
  }
  return undefined;
}

function addressAnswers(owner: string, found: readonly Found[]): Answer[] {
  const addresses = [...new Set(found.flatMap((f) => f.endpoint.addresses))];
  return addresses.map((data) => ({ type: 'A', class: 'IN', name: owner, ttl: LOCAL_TTL_SECONDS, data }));
}

function pointerAnswer(owner: string, found: Found): Answer {
  const data = `${found.endpoint.names[0] as string}.${found.network.network.name}`;
  return { type: 'PTR', class: 'IN', name: owner, ttl: LOCAL_TTL_SECONDS, data };
}
