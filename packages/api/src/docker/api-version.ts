import type { IncomingMessage } from 'node:http';

/** The Docker Engine API version the server speaks (Docker 24's). */
export const DOCKER_API_VERSION = '1.43';
/** The oldest API version a client may ask for, as dockerd's. */
export const DOCKER_MIN_API_VERSION = '1.24';

const REQUESTED = Symbol('netmode.api.requestedVersion');
const PREFIX = /^\/v([0-9]+\.[0-9]+)(?=\/|\?|$)/;

/**
 * Fastify's `rewriteUrl`: dockerd serves every route both at `/PATH` and at
 * `/vX.Y/PATH`; the prefix is taken off here, once, and the version kept on
 * the request for {@link requestedVersion}.
 */
export function stripVersionPrefix(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const match = PREFIX.exec(url);
  if (!match) return url;
  (req as IncomingMessage & { [REQUESTED]?: string })[REQUESTED] = match[1];
  const rest = url.slice(match[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** The version a request named in its `/vX.Y` prefix, if any. */
export function requestedVersion(req: IncomingMessage): string | undefined {
  return (req as IncomingMessage & { [REQUESTED]?: string })[REQUESTED];
}

/** Compares two `MAJOR.MINOR` versions: negative, zero or positive. */
export function compareVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}

/** dockerd's refusal of a version it does not serve, or undefined when it does. */
export function versionProblem(version: string, max: string, min: string): string | undefined {
  if (compareVersions(version, max) > 0) return `client version ${version} is too new. Maximum supported API version is ${max}`;
  if (compareVersions(version, min) < 0) {
    return `client version ${version} is too old. Minimum supported API version is ${min}, please upgrade your client to a newer version`;
  }
  return undefined;
}
