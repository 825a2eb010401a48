import swagger from '@fastify/swagger';
import { ErrorCode, type NetworkManager } from '@netmode/core';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { RouteContext } from './context.js';
import { DOCKER_API_VERSION, DOCKER_MIN_API_VERSION, requestedVersion, stripVersionPrefix, versionProblem } from './docker/api-version.js';
import { registerEventRoutes } from './docker/event-routes.js';
import { registerNetworkRoutes } from './docker/network-routes.js';
import { registerSystemRoutes } from './docker/system-routes.js';
import { ApiError, ApiErrorCode, errorReply } from './errors.js';
import { registerNetmodeRoutes } from './netmode/routes.js';
import { formatSchemaErrors } from './schema-errors.js';
import { NETMODE_VERSION } from './version.js';

/** The default limit of a request body: 1 MiB. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Options of {@link createApiServer}. */
export interface ApiServerOptions {
  /** netmode's version, reported by `/version`, `/info` and `/netmode/v1/info`. Default: this package's. */
  readonly version?: string;
  /** The Docker Engine API version served; default {@link DOCKER_API_VERSION}. */
  readonly apiVersion?: string;
  /** The oldest Docker Engine API version accepted in a `/vX.Y` prefix; default {@link DOCKER_MIN_API_VERSION}. */
  readonly minApiVersion?: string;
  /** The largest request body accepted, in bytes; larger ones get 413. Default {@link DEFAULT_BODY_LIMIT}. */
  readonly bodyLimit?: number;
  /** Fastify's logger setting; off by default. */
  readonly logger?: FastifyServerOptions['logger'];
}

/**
 * Builds the HTTP server in front of one {@link NetworkManager}: the network
 * routes of Docker's Engine API (with and without the `/vX.Y` prefix, as
 * dockerd), `/_ping`, `/version`, `/info`, `/events`, and netmode's own
 * routes under `/netmode/v1`. Every body, parameter and query is checked
 * against its JSON schema before a handler runs, so a refused request
 * changes nothing; every error answers `{message, code, context?}` with the
 * status dockerd would use. The routes are registered, nothing listens:
 * call {@link listenAll} (or Fastify's own `listen`, or `inject` in tests).
 */
export function createApiServer(netmode: NetworkManager, options: ApiServerOptions = {}): FastifyInstance {
  const ctx: RouteContext = {
    netmode,
    version: options.version ?? NETMODE_VERSION,
    apiVersion: options.apiVersion ?? DOCKER_API_VERSION,
    minApiVersion: options.minApiVersion ?? DOCKER_MIN_API_VERSION,
    streams: new Set(),
  };
  const server = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Only /_ping answers HEAD, as dockerd; the OpenAPI document lists it.
    exposeHeadRoutes: false,
    rewriteUrl: stripVersionPrefix,
    // Fastify's defaults would drop unknown fields (removeAdditional) and
    // turn "true" into true (coerceTypes): refuse both instead.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
    schemaErrorFormatter: formatSchemaErrors,
  });
  // Response schemas document the routes; replies are written as they are.
  server.setSerializerCompiler(() => (data) => JSON.stringify(data));

  // An empty body with a JSON content type (what some clients send on a
  // POST that has no body) is no body, not malformed JSON.
  const parseJson = server.getDefaultJsonParser('error', 'error');
  server.removeContentTypeParser('application/json');
  server.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '' || (typeof body === 'string' && body.trim() === '')) return done(null, undefined);
    return parseJson(request, body as string, done);
  });

  server.addHook('onRequest', async (request, reply) => {
    reply.header('Api-Version', ctx.apiVersion);
    reply.header('Docker-Experimental', 'false');
    reply.header('Ostype', 'linux');
    reply.header('Server', `netmode/${ctx.version} (linux)`);
    const version = requestedVersion(request.raw);
    const problem = version === undefined ? undefined : versionProblem(version, ctx.apiVersion, ctx.minApiVersion);
    if (problem) throw new ApiError(400, ErrorCode.INVALID_CONFIG, problem, { field: 'version' });
  });
  server.addHook('preClose', async () => {
    for (const end of [...ctx.streams]) end();
  });
  server.setErrorHandler((error, request, reply) => {
    const { status, body } = errorReply(error, request.routeOptions.config?.docker === true);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(status).type('application/json').send(body);
  });
  server.setNotFoundHandler((_request, reply) =>
    reply.code(404).type('application/json').send({ message: 'page not found', code: ApiErrorCode.ROUTE_NOT_FOUND }),
  );

  server.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'netmode API',
        version: ctx.version,
        description:
          "A subset of Docker's Engine API (network routes, version " +
          ctx.apiVersion +
          ', also served under /vX.Y) and netmode\'s own routes under /netmode/v1. Errors answer {"message", "code", "context"?}.',
      },
    },
  });
  server.register(async (routes) => {
    registerSystemRoutes(routes, ctx);
    registerNetworkRoutes(routes, ctx);
    registerEventRoutes(routes, ctx);
    registerNetmodeRoutes(routes, ctx);
  });
  return server;
}
