/**
 * `@netmode/api`: the HTTP server behind `netmode daemon -H`. It serves a
 * subset of Docker's Engine API (the network routes, `/_ping`, `/version`,
 * `/info`, `/events`), so that the `docker` CLI and dockerode manage
 * netmode's networks, and netmode's own routes under `/netmode/v1` for what
 * Docker's API has no word for. Build the server with
 * {@link createApiServer}, parse `-H` values with {@link parseHost}, and
 * listen with {@link listenAll}.
 *
 * @module
 */
export { createApiServer, DEFAULT_BODY_LIMIT, type ApiServerOptions } from './server.js';
export { parseHost, formatHost, isLoopbackHost, DEFAULT_TCP_PORT, DEFAULT_UNIX_SOCKET, type ListenSpec } from './listen/host-spec.js';
export { listenAll, type ListenSecurity, type Listening, type TlsSettings } from './listen/listen-all.js';
export { ApiErrorCode, type ErrorBody } from './errors.js';
export { DOCKER_API_VERSION, DOCKER_MIN_API_VERSION } from './docker/api-version.js';
export { NETMODE_PREFIX } from './netmode/routes.js';
export type { DockerNetwork, DockerNetworkContainer } from './docker/network-json.js';
export type { DockerEvent } from './docker/event-routes.js';
