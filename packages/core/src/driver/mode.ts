import { invalidConfig } from '../errors.js';
import { assertObjectName } from '../net/names.js';

/** A mode string, understood: join a network by name, or share another container's sandbox. */
export type ParsedMode =
  | {
      /** Join a network. */
      readonly kind: 'network';
      /** The network's name (`bridge`, `host`, `none` or a user-defined one). */
      readonly network: string;
    }
  | {
      /** Share another container's sandbox. */
      readonly kind: 'container';
      /** The container whose sandbox is joined. */
      readonly target: string;
    };

/** The driver name that serves `container:NAME` modes. */
export const CONTAINER_MODE_DRIVER = 'container';

/**
 * Parses a mode as Docker writes it in `--network`: `bridge`, `host`,
 * `none`, the name of a network, or `container:NAME`. Throws
 * ERR_INVALID_CONFIG for anything that cannot name one of those; whether the
 * network exists is checked later, against the store.
 */
export function parseMode(mode: string): ParsedMode {
  if (typeof mode !== 'string' || mode.length === 0) {
    throw invalidConfig('mode', 'is empty: use bridge, host, none, container:NAME or a network name');
  }
  if (mode.startsWith('container:')) {
    const target = mode.slice('container:'.length);
    if (target.length === 0) throw invalidConfig('mode', '"container:" needs the name of a container after the colon');
    assertObjectName(target, 'mode container:NAME');
    return { kind: 'container', target };
  }
  assertObjectName(mode, 'mode');
  return { kind: 'network', network: mode };
}

/** Writes a parsed mode back in Docker's spelling. */
export function formatMode(mode: ParsedMode): string {
  return mode.kind === 'container' ? `container:${mode.target}` : mode.network;
}
