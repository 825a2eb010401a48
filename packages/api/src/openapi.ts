import '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

/**
 * The OpenAPI 3 document of every route of `server` (one made by
 * `createApiServer`), generated from the routes' JSON schemas: what
 * `packages/api/openapi.json` holds.
 */
export async function openApiDocument(server: FastifyInstance): Promise<Record<string, unknown>> {
  await server.ready();
  return server.swagger() as unknown as Record<string, unknown>;
}
