import { inNetns, type Namespaces } from '../namespaces.js';
import type { Plan } from '../plan.js';
import { errorText, mustRun } from '../proc.js';
import { FLOOR_TABLE } from '../systems/floor.js';
import { progress } from './sample.js';

/** One kind of `nft -f -` transaction and its wall times (process included). */
export interface NftFact {
  readonly label: string;
  readonly ms: number[];
}

const NFT = '/usr/sbin/nft';
const ports = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

/**
 * What one nftables transaction costs by itself, on the floor's DNAT map,
 * with 1 and with 10 elements: whether removing elements costs per element
 * or per transaction decides whether batching the removals of several
 * endpoints pays (detach with a published port is bounded by it).
 */
export async function runNftFacts(ns: Namespaces, plan: Plan): Promise<{ facts: NftFact[]; errors: string[] }> {
  progress('nft transaction costs: add and delete of 1 and of 10 map elements');
  const host = await ns.createHost('h-nft');
  await mustRun(inNetns(host, [NFT, '-f', '-']), { input: FLOOR_TABLE });
  const kinds: { label: string; script: (round: number) => string }[] = [
    { label: 'add 1 element', script: (r) => `add element ip floor ports { ${20000 + r} : 10.231.0.2 . 80 }\n` },
    { label: 'delete 1 element', script: (r) => `delete element ip floor ports { ${20000 + r} }\n` },
    {
      label: 'add 10 elements',
      script: (r) =>
        `add element ip floor ports { ${ports(30000 + 10 * r, 10)
          .map((p) => `${p} : 10.231.0.2 . 80`)
          .join(', ')} }\n`,
    },
    { label: 'delete 10 elements', script: (r) => `delete element ip floor ports { ${ports(30000 + 10 * r, 10).join(', ')} }\n` },
  ];
  const facts: NftFact[] = kinds.map((k) => ({ label: k.label, ms: [] }));
  const errors: string[] = [];
  for (let r = 0; r < plan.iterations; r++) {
    for (const [i, kind] of kinds.entries()) {
      try {
        facts[i]?.ms.push((await mustRun(inNetns(host, [NFT, '-f', '-']), { input: kind.script(r) })).ms);
      } catch (error) {
        errors.push(`${kind.label}: ${errorText(error)}`);
      }
    }
  }
  return { facts, errors };
}
