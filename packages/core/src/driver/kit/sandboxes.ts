import type { Endpoint } from '../../model/endpoint.js';
import type { DriverContext } from '../network-driver.js';

/**
 * Whether `endpoint` owns its sandbox, so its detach deletes it. The record
 * says so (`ownsNetns`), and only the record: other endpoints of the
 * container may live in a namespace named after it, and the manager writes
 * `ownsNetns: true` into the pending record of the endpoint that will make
 * the sandbox, so a record whose attach never finished is cleaned up too.
 * When the owner leaves before the others, the manager passes the ownership on.
 *
 * @param _ctx - kept so drivers written against the earlier signature still compile.
 */
export function ownsSandbox(endpoint: Endpoint, _ctx?: DriverContext): boolean {
  return endpoint.ownsNetns;
}
