import type { FastifySchemaValidationError } from 'fastify/types/schema.js';

/**
 * Fastify's `schemaErrorFormatter`: one sentence that names the field at
 * fault, the unknown property included (ajv's own message leaves it out).
 */
export function formatSchemaErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const first = errors[0];
  if (!first) return new Error(`${dataVar} is invalid`);
  const where = `${dataVar}${first.instancePath}`;
  const params = first.params as { additionalProperty?: unknown; missingProperty?: unknown; allowedValues?: unknown };
  if (first.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    return new Error(`${where}: unknown field ${JSON.stringify(params.additionalProperty)}`);
  }
  return new Error(`${where} ${first.message ?? 'is invalid'}`);
}
