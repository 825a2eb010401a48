import { ErrorResponse } from './docker/schemas.js';

/** A success response without a body, for the OpenAPI document. */
export const empty = (description: string) => ({ description, type: 'null' });

/** A success response whose body is JSON of the named shape (described, not serialized by it). */
export const json = (description: string) => ({ description, type: 'object', additionalProperties: true });

/** A success response whose body is a JSON array. */
export const jsonArray = (description: string) => ({ description, type: 'array', items: { type: 'object', additionalProperties: true } });

/** The error responses every route may give. */
export const ERRORS = { '4xx': ErrorResponse, '5xx': ErrorResponse };
