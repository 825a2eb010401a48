import type { Endpoint } from '../../model/endpoint.js';
import type { DriverContext } from '../network-driver.js';

/**
 * Whether `endpoint` owns its sandbox, so its detach deletes it: the attach
 * said so (`ownsNetns`), or — for a record whose attach never finished,
 * where `ownsNetns` is still false — its namespace is the one netmode names
 * for this container (`ctx.sandboxName`), which only netmode makes.
 */
export function ownsSandbox(endpoint: Endpoint, ctx: DriverContext): boolean {
  if (endpoint.ownsNetns) return true;
  return endpoint.netns.kind === 'named' && endpoint.netns.name === ctx.sandboxName(endpoint.containerId);
}
