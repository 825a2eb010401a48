import type { ErrorCode, NetModeError } from '@netmode/core';

// Only types come from @netmode/core here, so that --help, --version and
// usage errors print without loading the SDK.
function isNetModeError(value: unknown): value is NetModeError {
  const code = value instanceof Error ? (value as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('ERR_') && 'context' in (value as object);
}

/**
 * The exit statuses of `netmode`, as `--help` documents them. `run` and
 * `exec` follow Docker: 125 when netmode failed before the command started,
 * 126/127 when the command cannot be run or found, otherwise the command's
 * own status.
 */
export const ExitCode = {
  OK: 0,
  USAGE: 1,
  FAILED: 2,
  CHECK_FAILED: 3,
  RUN_FAILED: 125,
  CANNOT_INVOKE: 126,
  NOT_FOUND: 127,
  INTERRUPTED: 130,
} as const;

/** Error codes of the command-line tool itself, in the SDK's `ERR_*` style. */
export const CliErrorCode = {
  USAGE: 'ERR_USAGE',
  CONTAINER_NOT_FOUND: 'ERR_CONTAINER_NOT_FOUND',
  CONTAINER_EXISTS: 'ERR_CONTAINER_EXISTS',
  CONTAINER_RUNNING: 'ERR_CONTAINER_RUNNING',
  CONTAINER_NOT_RUNNING: 'ERR_CONTAINER_NOT_RUNNING',
  CONTAINER_BROKEN: 'ERR_CONTAINER_BROKEN',
  LAST_NETWORK: 'ERR_LAST_NETWORK',
  CONTAINER_SETUP: 'ERR_CONTAINER_SETUP',
  COMMAND_NOT_FOUND: 'ERR_COMMAND_NOT_FOUND',
  COMMAND_NOT_EXECUTABLE: 'ERR_COMMAND_NOT_EXECUTABLE',
  NOT_ROOT: 'ERR_NOT_ROOT',
  DRIVER_PACKAGE_NOT_FOUND: 'ERR_DRIVER_PACKAGE_NOT_FOUND',
  DRIVER_PACKAGE_INVALID: 'ERR_DRIVER_PACKAGE_INVALID',
  DAEMON_UNREACHABLE: 'ERR_DAEMON_UNREACHABLE',
  DAEMON_RESPONSE: 'ERR_DAEMON_RESPONSE',
  SETTINGS_CONFLICT: 'ERR_SETTINGS_CONFLICT',
} as const;

/** One of {@link CliErrorCode}'s values. */
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

const CLI_HINTS: Record<CliErrorCode, string> = {
  ERR_USAGE: 'Run netmode --help, or netmode COMMAND --help.',
  ERR_CONTAINER_NOT_FOUND: 'Check the name; netmode ps lists the containers.',
  ERR_CONTAINER_EXISTS: 'Pick another --name, or remove the old container first (netmode rm -f NAME).',
  ERR_CONTAINER_RUNNING: 'Stop it first (netmode stop NAME), or remove it with -f.',
  ERR_CONTAINER_NOT_RUNNING: 'Start it with netmode start NAME (or a new one with netmode run); netmode ps shows its status.',
  ERR_CONTAINER_BROKEN: 'Its network is gone (a deleted namespace or endpoint): remove it with netmode rm -f NAME and run it again.',
  ERR_LAST_NETWORK:
    'A container keeps at least one network: connect it to another first (netmode network connect), or remove it (netmode rm -f NAME).',
  ERR_CONTAINER_SETUP:
    "The container's mount and UTS namespaces could not be prepared (nothing was started, its networks were disconnected): check that util-linux (unshare, mount, findmnt) is installed and that the message's file exists; netmode doctor checks the rest.",
  ERR_COMMAND_NOT_FOUND: 'Check the command name and PATH; nothing was created.',
  ERR_COMMAND_NOT_EXECUTABLE: 'Check the file is executable (chmod +x); nothing was created.',
  ERR_NOT_ROOT: 'Run it as root (it creates network namespaces).',
  ERR_DRIVER_PACKAGE_NOT_FOUND:
    'Check --driver-package and NETMODE_DRIVER_PACKAGES: a path is taken from the current directory, a package name is looked up from where netmode is installed.',
  ERR_DRIVER_PACKAGE_INVALID:
    'A driver package exports exactly one function named register…Driver (as registerMacvlanDriver), which netmode calls with its container; see docs/driver-authoring.md.',
  ERR_DAEMON_UNREACHABLE:
    'Check that netmode daemon runs and listens where -H (or NETMODE_HOST) points, and that you may open its socket (root, or its --group); without -H, netmode embeds the SDK instead.',
  ERR_DAEMON_RESPONSE:
    'The daemon at -H answered something this netmode does not understand: check that it is netmode daemon (not dockerd) and of the same version (netmode --version).',
  ERR_SETTINGS_CONFLICT:
    'The settings in force are kept in the state directory (settings/daemon.json; see docs/configuration.md): drop the flag or variable to use them, or remove what the message names and give the new value again.',
};

// The SDK's hints for these codes name SDK calls; at the shell the same advice
// names commands.
const SDK_HINTS_AT_THE_SHELL: Partial<Record<ErrorCode, string>> = {
  ERR_NETWORK_NOT_FOUND:
    'Use bridge, host, none, container:NAME or a network listed by netmode network ls; create one with netmode network create.',
  ERR_DRIVER_NOT_FOUND:
    'Use a driver this netmode registered: bridge, host, none and container, or those of the packages --driver-package (NETMODE_DRIVER_PACKAGES) names.',
  ERR_ENDPOINT_NOT_FOUND: 'Check the names; netmode ps lists the containers and their networks.',
  ERR_ENDPOINT_EXISTS:
    'The container is on that network already (netmode inspect NAME lists its networks); for a new container, use another --name or remove the old one (netmode rm -f NAME).',
  ERR_ADDRESS_EXHAUSTED: 'Remove unused containers, or create a network with a larger --subnet or --ip-range.',
  ERR_STATE_DIR_UNUSABLE: 'Point --state-dir (or NETMODE_STATE_DIR) at a directory on a local, writable file system.',
};

/** An error of the command-line tool (bad usage, unknown container, …). */
export class CliError extends Error {
  readonly code: CliErrorCode;
  /** The exit status this error ends the process with, unless the command overrides it (`run`: 125). */
  readonly exitCode: number;

  constructor(
    code: CliErrorCode,
    message: string,
    exitCode: number = code === CliErrorCode.USAGE ? ExitCode.USAGE : ExitCode.FAILED,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'CliError';
    this.code = code;
    this.exitCode = exitCode;
  }

  get hint(): string {
    return CLI_HINTS[this.code];
  }
}

/** Shorthand for a usage error. */
export function usage(message: string): CliError {
  return new CliError(CliErrorCode.USAGE, message);
}

/** The hint to print under an SDK error at the shell. */
export function hintFor(error: NetModeError): string {
  return SDK_HINTS_AT_THE_SHELL[error.code] ?? error.hint;
}

/** What `netmode` prints and exits with for a thrown value. */
export interface Failure {
  readonly code: string;
  readonly message: string;
  readonly hint: string | undefined;
  readonly details: string[];
  readonly exitCode: number;
}

/** Turns anything thrown into the lines `netmode` prints and its exit status. */
export function describeFailure(error: unknown): Failure {
  if (error instanceof CliError) {
    return { code: error.code, message: error.message, hint: error.hint, details: [], exitCode: error.exitCode };
  }
  if (isNetModeError(error)) {
    const details: string[] = [];
    const ctx = error.context;
    if (error.code === 'ERR_COMMAND_FAILED' || error.code === 'ERR_COMMAND_TIMEOUT') {
      if (Array.isArray(ctx['argv'])) details.push(`command: ${(ctx['argv'] as unknown[]).join(' ')}`);
      if (typeof ctx['netns'] === 'string') details.push(`namespace: ${ctx['netns']}`);
      if (typeof ctx['failedLine'] === 'string') details.push(`failed line: ${ctx['failedLine']}`);
      if (typeof ctx['stderr'] === 'string' && ctx['stderr'].trim() !== '') details.push(`stderr: ${ctx['stderr'].trim()}`);
    }
    if (ctx['rolledBack'] === false && Array.isArray(ctx['rollbackFailed'])) {
      details.push(`left behind: ${(ctx['rollbackFailed'] as unknown[]).join('; ')}`);
    }
    return { code: error.code, message: error.message, hint: hintFor(error), details, exitCode: ExitCode.FAILED };
  }
  const message = error instanceof Error ? error.message : String(error);
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  if (errno === 'EACCES' || errno === 'EPERM') {
    // The state directory is root's (mode 0700), and so are namespaces.
    return {
      code: 'ERR_PERMISSION',
      message,
      hint: 'Run as root or grant CAP_NET_ADMIN and CAP_SYS_ADMIN.',
      details: [],
      exitCode: ExitCode.FAILED,
    };
  }
  return {
    code: 'ERR_INTERNAL',
    message,
    hint: 'This is a bug in netmode; run again with --debug and report the output.',
    details: [],
    exitCode: ExitCode.FAILED,
  };
}
