import type { CommandRunner } from '../exec/runner.js';
import type { NetnsRef } from '../model/netns-ref.js';
import { parseCidr } from '../net/address.js';

interface JsonRoute {
  readonly dst?: string;
  readonly type?: string;
}

/**
 * The destinations routed in `netns` (IPv4 and IPv6, every table), as CIDRs,
 * without default routes: what IPAM must not hand out as a subnet. The family
 * is a global option of `ip` that a batch line cannot set, hence two processes.
 */
export async function readHostRoutes(runner: CommandRunner, netns: NetnsRef): Promise<string[]> {
  const outputs = await Promise.all(
    ['-4', '-6'].map((family) =>
      runner
        .run({ command: 'ip', args: ['-json', family, 'route', 'show', 'table', 'all'], netns })
        // IPv6 may be disabled in the host namespace: then it routes nothing.
        .catch((error: unknown) => (family === '-6' ? { stdout: '' } : Promise.reject(error))),
    ),
  );
  const routes: string[] = [];
  for (const { stdout } of outputs) {
    if (stdout.trim() === '') continue;
    for (const route of JSON.parse(stdout) as JsonRoute[]) {
      if (!route.dst || route.dst === 'default' || route.type === 'multicast') continue;
      // `ip` prints host routes without a prefix length.
      const cidr = route.dst.includes('/') ? route.dst : `${route.dst}/${route.dst.includes(':') ? 128 : 32}`;
      // A route IPAM cannot parse cannot overlap a pool it hands out from.
      try {
        parseCidr(cidr, 'host route');
        routes.push(cidr);
      } catch {
        continue;
      }
    }
  }
  return routes;
}

/**
 * The host's ephemeral port range (`net.ipv4.ip_local_port_range`) as seen
 * in `netns`: where published ports without a host port are taken from.
 */
export async function readEphemeralPortRange(runner: CommandRunner, netns: NetnsRef): Promise<readonly [number, number]> {
  const { stdout } = await runner.run({ command: 'cat', args: ['/proc/sys/net/ipv4/ip_local_port_range'], netns });
  const [first, last] = stdout.trim().split(/\s+/).map(Number);
  if (!Number.isInteger(first) || !Number.isInteger(last) || (first as number) > (last as number)) {
    throw new Error(`cannot parse ip_local_port_range: ${JSON.stringify(stdout)}`);
  }
  return [first as number, last as number];
}
