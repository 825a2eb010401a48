import { accessSync, constants } from 'node:fs';
import { ErrorCode, NetModeError, invalidConfig } from '../errors.js';
import { KNOWN_TOOLS } from './runner.js';

// Fixed system directories, searched in order. PATH is not consulted, so an
// unprivileged user's PATH cannot put another `ip` in front of the real one.
const SYSTEM_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const resolved = new Map<string, string>();

/**
 * The absolute path of a tool: `command` itself when absolute, otherwise the
 * first executable of that name in the system directories. Throws
 * ERR_MISSING_TOOL naming the package to install when there is none.
 */
export function resolveToolPath(command: string): string {
  if (command.startsWith('/')) return command;
  const cached = resolved.get(command);
  if (cached !== undefined) return cached;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(command)) {
    throw invalidConfig('command', `${JSON.stringify(command)} is neither an absolute path nor a tool name`);
  }
  for (const dir of SYSTEM_DIRS) {
    const candidate = `${dir}/${command}`;
    try {
      accessSync(candidate, constants.X_OK);
      resolved.set(command, candidate);
      return candidate;
    } catch {
      // Not in this directory; try the next.
    }
  }
  const pkg = KNOWN_TOOLS[command];
  throw new NetModeError(
    ErrorCode.MISSING_TOOL,
    `${command} is not installed${pkg ? `: install the ${pkg} package (apt-get install ${pkg})` : ''}`,
    { context: { tool: command, package: pkg, searched: SYSTEM_DIRS } },
  );
}
