/**
 * Every error netmode throws on purpose is a {@link NetModeError} with a stable
 * {@link ErrorCode}. Callers match on `code`, never on message text; the message
 * says what to fix, `cause` keeps the original error, and `context` gathers
 * what each layer knew (container id, network, command line, namespace).
 *
 * @module
 */

/**
 * The stable error codes. Each one is documented in `docs/errors.md` with what
 * it means and what to do about it.
 */
export const ErrorCode = {
  /** A request, option or network specification is malformed or contradictory. */
  INVALID_CONFIG: 'ERR_INVALID_CONFIG',
  /** A mode string or network name does not name a known network. */
  NETWORK_NOT_FOUND: 'ERR_NETWORK_NOT_FOUND',
  /** A network with this name already exists. */
  NETWORK_EXISTS: 'ERR_NETWORK_EXISTS',
  /** A network still has endpoints, or is predefined, and cannot be removed. */
  NETWORK_IN_USE: 'ERR_NETWORK_IN_USE',
  /** No registered driver serves the requested driver name or mode. */
  DRIVER_NOT_FOUND: 'ERR_DRIVER_NOT_FOUND',
  /** The driver does not offer the requested operation (for example user-defined networks). */
  UNSUPPORTED: 'ERR_UNSUPPORTED',
  /** The container already has an endpoint (or one is being set up or torn down). */
  ENDPOINT_EXISTS: 'ERR_ENDPOINT_EXISTS',
  /** Another call or process is working on this container or network right now. */
  BUSY: 'ERR_BUSY',
  /** No endpoint is recorded for this container. */
  ENDPOINT_NOT_FOUND: 'ERR_ENDPOINT_NOT_FOUND',
  /** No free address is left in the subnet, or no free subnet in the pools. */
  ADDRESS_EXHAUSTED: 'ERR_ADDRESS_EXHAUSTED',
  /** A static address was requested that is already leased or reserved. */
  ADDRESS_IN_USE: 'ERR_ADDRESS_IN_USE',
  /** A requested subnet overlaps another network's subnet or a route of the host. */
  SUBNET_OVERLAP: 'ERR_SUBNET_OVERLAP',
  /** A host port is already published by another endpoint, or a process of the host has it. */
  PORT_ALLOCATED: 'ERR_PORT_ALLOCATED',
  /** The process that holds published host ports (the companion) could not be started or did not answer; nothing was published. */
  PORT_HOLDER: 'ERR_PORT_HOLDER',
  /** The process lacks root or CAP_NET_ADMIN for a kernel change. */
  PERMISSION: 'ERR_PERMISSION',
  /** A required binary (`ip`, `nft`, `nsenter`, …) is not installed. */
  MISSING_TOOL: 'ERR_MISSING_TOOL',
  /** A command exited with a failure status. */
  COMMAND_FAILED: 'ERR_COMMAND_FAILED',
  /** A command did not finish within its timeout and was killed. */
  COMMAND_TIMEOUT: 'ERR_COMMAND_TIMEOUT',
  /** The caller's AbortSignal fired before the operation finished. */
  ABORTED: 'ERR_ABORTED',
  /** A namespace netmode was about to create already exists, and is not netmode's to adopt. */
  NETNS_EXISTS: 'ERR_NETNS_EXISTS',
  /** A network namespace path or name does not exist. */
  NETNS_NOT_FOUND: 'ERR_NETNS_NOT_FOUND',
  /** The state directory holds a record that cannot be read, or something netmode never makes is in its way (a lock that is not a regular file). */
  STATE_CORRUPT: 'ERR_STATE_CORRUPT',
  /** The state directory is not a directory, or no files can be created in it. */
  STATE_DIR_UNUSABLE: 'ERR_STATE_DIR_UNUSABLE',
  /** The state directory was written in a format newer than this release reads. */
  STATE_FORMAT_UNKNOWN: 'ERR_STATE_FORMAT_UNKNOWN',
  /** The file system that holds the state directory is full, or its quota is used up; nothing was committed. */
  NO_SPACE: 'ERR_NO_SPACE',
  /** The state lock could not be taken within the allowed time. */
  LOCK_TIMEOUT: 'ERR_LOCK_TIMEOUT',
  /** A teardown finished with objects it could not remove; they are listed. */
  TEARDOWN_INCOMPLETE: 'ERR_TEARDOWN_INCOMPLETE',
  /** A driver failed with an error that is not a NetModeError (a bug in the driver); the original is the cause. */
  DRIVER_FAILED: 'ERR_DRIVER_FAILED',
  /** More than one copy of tsyringe is loaded, and a class decorated by one is unknown to the container of another. */
  DUPLICATE_TSYRINGE: 'ERR_DUPLICATE_TSYRINGE',
} as const;

/** One of the stable error code strings of {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * What to do about each error code, in one sentence. The command-line tool
 * prints it under the message; `docs/errors.md` says the same at more length.
 */
export const ERROR_HINTS: Readonly<Record<ErrorCode, string>> = {
  ERR_INVALID_CONFIG: 'Correct the option named in the message; nothing was changed.',
  ERR_NETWORK_NOT_FOUND: 'Use bridge, host, none, container:NAME or the name of a network listed by listNetworks().',
  ERR_NETWORK_EXISTS: 'Pick another name, or remove the existing network first.',
  ERR_NETWORK_IN_USE: 'Disconnect the endpoints listed in the message first; predefined networks cannot be removed.',
  ERR_DRIVER_NOT_FOUND: 'Register the driver package for this mode in createNetMode({ drivers }).',
  ERR_UNSUPPORTED: 'Use a driver that offers this operation.',
  ERR_ENDPOINT_EXISTS: 'Disconnect the container first, or use another container id.',
  ERR_BUSY: 'Wait for the other operation named in the message to finish, then retry.',
  ERR_ENDPOINT_NOT_FOUND: 'Check the container id; list() shows every recorded endpoint.',
  ERR_ADDRESS_EXHAUSTED: 'Release addresses, use a larger subnet, or add address pools.',
  ERR_ADDRESS_IN_USE: 'Request another static address, or let IPAM choose one.',
  ERR_SUBNET_OVERLAP: 'Choose a subnet that overlaps no other network and no route of the host namespace.',
  ERR_PORT_ALLOCATED: 'Publish on another host port, or stop the endpoint or host process the message names.',
  ERR_PORT_HOLDER: "Read the companion's log (STATE_DIR/companion.log) and retry; holdHostPorts: false publishes without holding.",
  ERR_PERMISSION: 'Run as root or grant CAP_NET_ADMIN and CAP_SYS_ADMIN.',
  ERR_MISSING_TOOL: 'Install the package named in the message (iproute2, nftables, iptables, util-linux).',
  ERR_COMMAND_FAILED: 'Read the command and its stderr in the error context; context.rolledBack says whether completed steps were undone.',
  ERR_COMMAND_TIMEOUT: 'The kernel or a tool hung; check the system, or raise commandTimeoutMs.',
  ERR_ABORTED: 'The operation was cancelled by its AbortSignal; context.rolledBack says whether completed steps were undone.',
  ERR_NETNS_EXISTS: 'Remove the leftover namespace named in the message (ip netns delete NAME), or use another container id.',
  ERR_NETNS_NOT_FOUND: 'Check that the namespace exists (ip netns list, /proc/PID/ns/net) and the process is alive.',
  ERR_STATE_CORRUPT: 'Inspect the file named in the message under the state directory; restore or remove it.',
  ERR_STATE_DIR_UNUSABLE: 'Point stateDir at a directory on a local, writable file system.',
  ERR_STATE_FORMAT_UNKNOWN:
    'Use the netmode release that wrote this state directory (or a newer one), or point stateDir at another directory.',
  ERR_NO_SPACE: 'Free space on the file system that holds the state directory, then retry; nothing was committed.',
  ERR_LOCK_TIMEOUT: 'Another process holds the state lock; retry, or find the process named in the message.',
  ERR_TEARDOWN_INCOMPLETE: 'Repeat the call, or remove the listed leftovers by hand.',
  ERR_DRIVER_FAILED: "Report it to the driver's authors with the cause; context.rolledBack says whether completed steps were undone.",
  ERR_DUPLICATE_TSYRINGE:
    'Install one tsyringe that every package accepts (npm ls tsyringe, then npm dedupe or an overrides entry); drivers take tsyringe from @netmode/core.',
};

/**
 * The kind of a failed command, as `NetModeError.failure` carries it on
 * ERR_COMMAND_FAILED:
 * - `exists`: what it was to create exists already (EEXIST: "File exists");
 * - `missing`: what it was to change or remove does not exist ("does not
 *   exist", "Cannot find device", "No such file or directory", "No such
 *   process", conntrack's "0 flow entries");
 * - `busy`: the object is in use or the address taken ("Device or resource
 *   busy", "Address already in use");
 * - `overlap`: an nft interval set refused an element that overlaps another;
 * - `unknown`: anything else.
 *
 * Permission problems are not a kind of failure here: they have their own
 * code, ERR_PERMISSION.
 */
export type ToolFailure = 'exists' | 'missing' | 'busy' | 'overlap' | 'unknown';

/** Extra facts attached to an error by the layers it passed through. */
export type ErrorContext = Readonly<Record<string, unknown>>;

/** Options for constructing a {@link NetModeError}. */
export interface NetModeErrorOptions {
  /** The error that caused this one, kept as the standard `cause`. */
  readonly cause?: unknown;
  /** Facts known where the error was raised (ids, names, argv, namespace). */
  readonly context?: ErrorContext;
  /** For ERR_COMMAND_FAILED: what the tool's failure means (see {@link NetModeError.failure}). */
  readonly failure?: ToolFailure;
}

// Marks netmode's errors, so that isNetModeError() tells them from Node's own
// ERR_* errors; Symbol.for makes it the same across copies of this package.
const BRAND = Symbol.for('netmode.NetModeError');

/** What {@link NetModeError.toJSON} returns: the error as plain data. */
export interface NetModeErrorJSON {
  /** The class name: `NetModeError` or a subclass's. */
  readonly name: string;
  /** The stable code. */
  readonly code: ErrorCode;
  /** What went wrong and what to fix. */
  readonly message: string;
  /** What to do about this code. */
  readonly hint: string;
  /** Facts from every layer. */
  readonly context: ErrorContext;
}

/**
 * The base class of every error netmode throws on purpose.
 *
 * @example
 * ```ts
 * try { await netmode.connect('web', 'bridge') }
 * catch (e) { if (isNetModeError(e, ErrorCode.PORT_ALLOCATED)) { … } }
 * ```
 */
export class NetModeError extends Error {
  /** The stable code; match on this, never on the message. */
  readonly code: ErrorCode;
  /** Facts gathered from every layer the error passed through. */
  context: ErrorContext;
  /**
   * For ERR_COMMAND_FAILED, what the tool's failure means (`exists`,
   * `missing`, `busy`, `overlap`, `unknown`), read once by the runner: match
   * on this, never on stderr. Undefined for other codes.
   */
  readonly failure: ToolFailure | undefined;
  /**
   * For an error that ends a setup (an attach, a network's creation):
   * whether every completed step was undone. `true`: nothing is left;
   * `false`: an undo failed too, and `context.rollbackFailed` lists what is
   * left. Undefined when the error comes from no setup. Set by
   * {@link NetModeError.markRolledBack}, which `UndoStack.rollback()` calls.
   */
  rolledBack: boolean | undefined;

  constructor(code: ErrorCode, message: string, options: NetModeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NetModeError';
    this.code = code;
    this.context = { ...options.context };
    this.failure = options.failure;
    this.rolledBack = undefined;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /**
   * Records whether a failed setup undid its steps (`rolledBack`),
   * with what is left when it did not, and returns the same error.
   */
  markRolledBack(rolledBack: boolean, leftovers: ErrorContext = {}): this {
    this.rolledBack = rolledBack;
    return this.withContext({ rolledBack, ...leftovers });
  }

  /** One sentence on what to do about this error's code. */
  get hint(): string {
    return ERROR_HINTS[this.code];
  }

  /**
   * Adds facts known at an outer layer, without overwriting what an inner
   * layer already recorded, and returns the same error for rethrowing.
   */
  withContext(context: ErrorContext): this {
    this.context = { ...context, ...this.context };
    return this;
  }

  /** A plain object for logs and `--json` output. */
  toJSON(): NetModeErrorJSON {
    return { name: this.name, code: this.code, message: this.message, hint: this.hint, context: this.context };
  }
}

/** One kernel object or record that a teardown could not remove. */
export interface TeardownLeftover {
  /** What kind of thing is left: `netns`, `link`, `rule`, `lease`, `record`, … */
  readonly kind: string;
  /** Its name or key. */
  readonly name: string;
  /** Why it could not be removed. */
  readonly error: unknown;
}

/**
 * Thrown when a teardown tried every step and some failed. Every step was
 * attempted; `leftovers` lists what is still there.
 */
export class TeardownError extends NetModeError {
  /** What could not be removed, one entry per failed step. */
  readonly leftovers: readonly TeardownLeftover[];

  constructor(what: string, leftovers: readonly TeardownLeftover[], options: NetModeErrorOptions = {}) {
    const list = leftovers.map((l) => `${l.kind} ${l.name} (${errorMessage(l.error)})`).join('; ');
    super(ErrorCode.TEARDOWN_INCOMPLETE, `${what}: could not remove ${list}`, {
      ...options,
      cause: options.cause ?? leftovers[0]?.error,
    });
    this.name = 'TeardownError';
    this.leftovers = leftovers;
  }
}

/**
 * Whether `value` is a {@link NetModeError}, optionally with the given code.
 * Works across copies of this package (it checks a brand every NetModeError
 * carries, not the class), and only netmode's errors pass: Node's own
 * errors with an `ERR_*` code (`ERR_INVALID_ARG_TYPE`) do not.
 */
export function isNetModeError(value: unknown, code?: ErrorCode): value is NetModeError {
  if (!(value instanceof Error) || (value as unknown as Record<symbol, unknown>)[BRAND] !== true) return false;
  return code === undefined || (value as NetModeError).code === code;
}

/** Whether `value` is a netmode ERR_COMMAND_FAILED whose tool failed for the given reason. */
export function isToolFailure(value: unknown, failure: ToolFailure): value is NetModeError {
  return isNetModeError(value, ErrorCode.COMMAND_FAILED) && value.failure === failure;
}

/** The message of any thrown value, for building other messages. */
export function errorMessage(value: unknown): string {
  return value instanceof Error ? value.message : String(value);
}

/**
 * `error` itself when it is a {@link NetModeError}; otherwise a new
 * ERR_DRIVER_FAILED error with `error` as its cause, so every error leaving
 * netmode has a code and a context.
 */
export function asNetModeError(error: unknown, what: string): NetModeError {
  if (error instanceof NetModeError) return error;
  return new NetModeError(ErrorCode.DRIVER_FAILED, `${what}: ${errorMessage(error)}`, { cause: error });
}

/** Shorthand for an {@link ErrorCode.INVALID_CONFIG} error naming the field at fault. */
export function invalidConfig(field: string, message: string, context?: ErrorContext): NetModeError {
  return new NetModeError(ErrorCode.INVALID_CONFIG, `${field}: ${message}`, { context: { field, ...context } });
}
