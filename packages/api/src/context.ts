import type { NetworkManager } from '@netmode/core';

/** What every route module receives: the manager and the server's settings. */
export interface RouteContext {
  /** The one manager the server fronts. */
  readonly netmode: NetworkManager;
  /** netmode's version, as `/version` and `/netmode/v1/info` report it. */
  readonly version: string;
  /** The Docker Engine API version served. */
  readonly apiVersion: string;
  /** The oldest Docker Engine API version accepted. */
  readonly minApiVersion: string;
  /** Open event streams, ended when the server closes. */
  readonly streams: Set<() => void>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A Docker-compatible route: errors get dockerd's statuses. */
    docker?: boolean;
  }
}
