import type { CommandRunner } from '../exec/runner.js';
import type { NetnsRef } from '../model/netns-ref.js';

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
      runner.run({ command: 'ip', args: ['-json', family, 'route', 'show', 'table', 'all'], netns }),
    ),
  );
  const routes: string[] = [];
  for (const { stdout } of outputs) {
    if (stdout.trim() === '') continue;
    for (const route of JSON.parse(stdout) as JsonRoute[]) {
      if (!route.dst || route.dst === 'default' || route.type === 'multicast') continue;
      // `ip` prints host routes without a prefix length.
      routes.push(route.dst.includes('/') ? route.dst : `${route.dst}/${route.dst.includes(':') ? 128 : 32}`);
    }
  }
  return routes;
}
