/**
 * The driver kit: kernel and bookkeeping helpers every driver needs, kept
 * beside the contract so that no driver copies them.
 *
 * @module
 */
export {
  deleteLinkIfPresent,
  listLinks,
  readLink,
  readRoutes,
  type DeleteLinkOptions,
  type LinkFacts,
  type ReadRoutesOptions,
  type RouteFacts,
} from './links.js';
export { readSysctl, writeSysctls } from './sysctls.js';
export { ownsSandbox } from './sandboxes.js';
export { ensureSubnetReserved } from './subnets.js';
