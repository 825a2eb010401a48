import { ErrorCode, isNetModeError, type ErrorContext } from '@netmode/core';

/**
 * The error codes the API server adds to netmode's {@link ErrorCode}: for
 * what goes wrong in HTTP before a request reaches the manager. Each one is
 * documented in `docs/errors.md`.
 */
export const ApiErrorCode = {
  /** No route answers this method and path (Docker's `page not found`). */
  ROUTE_NOT_FOUND: 'ERR_ROUTE_NOT_FOUND',
  /** The request body is larger than the server's body limit. */
  BODY_TOO_LARGE: 'ERR_BODY_TOO_LARGE',
  /** A failure that is not one of netmode's errors: a bug of the server; the message says what. */
  INTERNAL: 'ERR_INTERNAL',
} as const;

/** One of the code strings of {@link ApiErrorCode}. */
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode];

/**
 * The body of every error response: Docker's `{"message": …}`, with netmode's
 * stable code beside it and, when known, the facts of the error.
 */
export interface ErrorBody {
  /** What went wrong and what to fix. */
  readonly message: string;
  /** netmode's stable code: one of {@link ErrorCode} or {@link ApiErrorCode}. */
  readonly code: ErrorCode | ApiErrorCode;
  /** Facts gathered by the layers the error passed through. */
  readonly context?: ErrorContext;
}

/** An error the API raises itself, with the HTTP status it answers with. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | ApiErrorCode,
    message: string,
    readonly context?: ErrorContext,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The HTTP status of a netmode error code on netmode's own routes. */
export function netmodeStatus(code: string): number {
  switch (code) {
    // What the caller asked for is malformed, contradictory or not offered.
    case ErrorCode.INVALID_CONFIG:
    case ErrorCode.UNSUPPORTED:
    case ErrorCode.SUBNET_OVERLAP:
      return 400;
    case ApiErrorCode.BODY_TOO_LARGE:
      return 413;
    // Well formed, but the state of the host is in the way.
    case ErrorCode.ADDRESS_IN_USE:
    case ErrorCode.ADDRESS_EXHAUSTED:
    case ErrorCode.PORT_ALLOCATED:
    case ErrorCode.BUSY:
      return 409;
  }
  if (code.endsWith('_NOT_FOUND')) return 404;
  if (code.endsWith('_EXISTS') || code.endsWith('_IN_USE')) return 409;
  return 500;
}

/**
 * The HTTP status Docker's daemon answers on its own routes: where it differs
 * from {@link netmodeStatus}, Docker's wins there, so that its clients read
 * the error as they read dockerd's. dockerd answers 403 Forbidden for a
 * network it will not remove (predefined, or with active endpoints) and for
 * a container already on the network.
 */
export function dockerStatus(code: string): number {
  switch (code) {
    case ErrorCode.NETWORK_IN_USE:
    case ErrorCode.ENDPOINT_EXISTS:
      return 403;
  }
  return netmodeStatus(code);
}

/** The status and body that answer `error`; `docker` picks Docker's statuses. */
export function errorReply(error: unknown, docker: boolean): { status: number; body: ErrorBody } {
  const status = docker ? dockerStatus : netmodeStatus;
  if (error instanceof ApiError) {
    return { status: error.status, body: withContext({ message: error.message, code: error.code }, error.context) };
  }
  if (isNetModeError(error)) {
    return { status: status(error.code), body: withContext({ message: error.message, code: error.code }, error.context) };
  }
  const http = error as { statusCode?: unknown; code?: unknown; message?: unknown; validation?: unknown; validationContext?: unknown };
  if (typeof http.statusCode === 'number' && http.statusCode >= 400 && http.statusCode < 500) {
    // Fastify's own refusals: malformed JSON, a body over the limit, a schema
    // that the request does not match, a media type nobody parses.
    const message = typeof http.message === 'string' ? http.message : 'bad request';
    if (http.statusCode === 413) {
      return { status: 413, body: { message, code: ApiErrorCode.BODY_TOO_LARGE } };
    }
    const context = http.validation === undefined ? undefined : { field: http.validationContext };
    return { status: http.statusCode, body: withContext({ message, code: ErrorCode.INVALID_CONFIG }, context) };
  }
  return { status: 500, body: { message: error instanceof Error ? error.message : String(error), code: ApiErrorCode.INTERNAL } };
}

function withContext(body: ErrorBody, context: ErrorContext | undefined): ErrorBody {
  if (context === undefined || Object.keys(context).length === 0) return body;
  return { ...body, context: plainContext(context) };
}

/** Context values as JSON can carry them: errors become `{code, message}`. */
function plainContext(context: ErrorContext): ErrorContext {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(context)) out[key] = value instanceof Error ? serializeError(value) : value;
  return out;
}

/** An error as plain data: `{code, message}` (what the event streams carry). */
export function serializeError(error: unknown): { code: string; message: string } {
  if (isNetModeError(error)) return { code: error.code, message: error.message };
  if (error instanceof Error) return { code: ApiErrorCode.INTERNAL, message: error.message };
  return { code: ApiErrorCode.INTERNAL, message: String(error) };
}
