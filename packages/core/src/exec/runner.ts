import { isToolFailure, type ToolFailure } from '../errors.js';
import type { NetnsRef } from '../model/netns-ref.js';

/** One process to run: a tool, its arguments, and where to run it. */
export interface CommandSpec {
  /**
   * The tool: a bare name from {@link KNOWN_TOOLS} (resolved to an absolute
   * path in the system directories, never through `PATH`) or an absolute path.
   */
  readonly command: string;
  /** The arguments, one array element each; nothing is ever parsed by a shell. */
  readonly args: readonly string[];
  /** The namespace to run in; the runner enters it with `nsenter --net=PATH`. Default: the SDK's own. */
  readonly netns?: NetnsRef;
  /** Text written to the process's standard input (a `-batch -` or `-f -` script). */
  readonly input?: string;
  /** Kill the process after this many milliseconds; default: the runner's own timeout. */
  readonly timeoutMs?: number;
  /** Kill the process when this signal aborts. */
  readonly signal?: AbortSignal;
  /**
   * A failure that is an answer, not an error: a probe asking "does it
   * exist?" expects `missing`. The runner still rejects with the classified
   * error (the caller reads the answer from it), but reports a failure of
   * this kind in `command:exec` with `failed: false` and `expected` set, so
   * a healthy operation shows no failed command.
   */
  readonly expectedFailure?: ToolFailure;
}

/** What a finished process left behind. */
export interface CommandResult {
  /** Everything it wrote to standard output. */
  readonly stdout: string;
  /** Everything it wrote to standard error. */
  readonly stderr: string;
  /** Its exit status (0 on success). */
  readonly exitCode: number;
  /** Wall time from spawn to exit. */
  readonly durationMs: number;
}

/**
 * The one component that starts processes. Everything that changes the kernel
 * goes through it, which is what lets unit tests record the exact scripts
 * (see `RecordingRunner` in `@netmode/core/testing`) and lets a runtime swap
 * in its own (a long-lived helper, a remote agent).
 *
 * Contract for implementations:
 * - Arguments are passed as an array; no shell ever sees them.
 * - A non-zero exit rejects with a `NetModeError` of code `ERR_COMMAND_FAILED`
 *   (or `ERR_PERMISSION`, `ERR_NETNS_NOT_FOUND`, `ERR_MISSING_TOOL`,
 *   `ERR_COMMAND_TIMEOUT`, `ERR_ABORTED`) whose context holds `argv`, `netns`,
 *   `exitCode` and `stderr`.
 * - The runner never changes the namespace of the calling process.
 * - A runner that reports `command:exec` events reports a failure that
 *   matches {@link CommandSpec.expectedFailure} as not failed
 *   ({@link expectedAnswer}).
 */
export interface CommandRunner {
  /** Runs one process to completion. Resolves only when it exited with status 0. */
  run(spec: CommandSpec): Promise<CommandResult>;
}

/**
 * The spec's expected failure when `error` is that failure (the command
 * answered as its caller expected), else `undefined`: what a runner reports
 * as `expected` in `command:exec`, with `failed: false`.
 */
export function expectedAnswer(spec: CommandSpec, error: unknown): ToolFailure | undefined {
  return spec.expectedFailure !== undefined && isToolFailure(error, spec.expectedFailure) ? spec.expectedFailure : undefined;
}

/** Tools netmode may run, with the Debian package that provides each (for ERR_MISSING_TOOL). */
export const KNOWN_TOOLS: Readonly<Record<string, string>> = {
  ip: 'iproute2',
  bridge: 'iproute2',
  nft: 'nftables',
  iptables: 'iptables',
  'iptables-restore': 'iptables',
  'iptables-save': 'iptables',
  ip6tables: 'iptables',
  'ip6tables-restore': 'iptables',
  'ip6tables-save': 'iptables',
  nsenter: 'util-linux',
  conntrack: 'conntrack',
  sysctl: 'procps',
};
