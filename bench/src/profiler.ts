import { AsyncLocalStorage } from 'node:async_hooks';
import { basename } from 'node:path';
import {
  formatNetns,
  type CommandResult,
  type CommandRunner,
  type CommandSpec,
  type NetModeEmitter,
  type NetnsRef,
  type StateEntry,
  type StateStore,
  type StateTransaction,
} from '@netmode/core';
import { spawningStopped } from './proc.js';
import { emptyTrace, type OpTrace } from './systems/system.js';

interface Context {
  readonly trace: OpTrace;
  /** The label of the command being run, set by the labelling runner around the inner runner. */
  readonly label?: string;
  readonly inTx: boolean;
}

/**
 * Attributes netmode's processes and state-store calls to the operation that
 * caused them, even when operations run concurrently: each operation runs in
 * its own AsyncLocalStorage context. Process times come from the manager's
 * own `command:exec` events (spawn to exit, as the runner measured them);
 * the labelling runner only names them, since the event carries the argv
 * but not the script on standard input that says what a batch did.
 */
export class Profiler {
  readonly #als = new AsyncLocalStorage<Context>();

  /** Runs one operation in a fresh context; resolves with its trace and wall time. */
  async trace<T>(work: () => Promise<T>): Promise<{ trace: OpTrace; ms: number; value: T }> {
    const trace = emptyTrace();
    const started = performance.now();
    const value = await this.#als.run({ trace, inTx: false }, work);
    return { trace, ms: performance.now() - started, value };
  }

  /** Records every `command:exec` event of a manager into the trace of the operation that ran it. */
  listen(events: NetModeEmitter): void {
    events.on('command:exec', (event) => {
      const context = this.#als.getStore();
      if (!context) return;
      context.trace.steps.push({
        label: context.label ?? labelFromArgv(event.argv),
        ms: event.durationMs,
        ...(context.inTx ? { inTx: true } : {}),
      });
    });
  }

  /** A runner that names each command for the trace, then lets `inner` (the manager's own) run it. */
  labellingRunner(inner: CommandRunner, hostNetns: NetnsRef): CommandRunner {
    const als = this.#als;
    return {
      run(spec: CommandSpec): Promise<CommandResult> {
        if (spawningStopped()) return Promise.reject(new Error('not started: the run is stopping'));
        const context = als.getStore();
        if (!context) return inner.run(spec);
        return als.run({ ...context, label: labelOf(spec, hostNetns) }, () => inner.run(spec));
      },
    };
  }

  /** A store that times every call made outside a transaction, and every transaction as a whole (lock wait included). */
  timedStore(inner: StateStore): StateStore {
    const als = this.#als;
    const timed = async <T>(kind: 'transaction' | 'get' | 'list', caller: string, work: () => Promise<T>): Promise<T> => {
      const context = als.getStore();
      const started = performance.now();
      try {
        return await work();
      } finally {
        context?.trace.store.push({ kind, caller, ms: performance.now() - started });
      }
    };
    // The caller is read from the stack before the first await, so it names
    // the SDK function that opened the transaction (IPAM, ports, manager).
    return {
      get: <T>(key: string) => timed('get', callerOf(), () => inner.get<T>(key)),
      list: <T>(prefix: string): Promise<StateEntry<T>[]> => timed('list', callerOf(), () => inner.list<T>(prefix)),
      transaction: <T>(fn: (tx: StateTransaction) => Promise<T>): Promise<T> => {
        const context = als.getStore();
        if (!context) return inner.transaction(fn);
        return timed('transaction', callerOf(), () => als.run({ ...context, inTx: true }, () => inner.transaction(fn)));
      },
    };
  }
}

/**
 * A short name for a command: the tool, what its script or arguments do, and
 * where it ran (`sdk`: the SDK's own namespace; `host`: the host namespace;
 * `sandbox`: a container's). Names and values are left out so that the same
 * step of different endpoints gets the same label.
 */
export function labelOf(spec: CommandSpec, hostNetns: NetnsRef): string {
  const netns = spec.netns ?? { kind: 'host' as const };
  const where = netns.kind === 'host' ? 'sdk' : formatNetns(netns) === formatNetns(hostNetns) ? 'host' : 'sandbox';
  const tool = basename(spec.command);
  const scriptVerbs = (input: string) =>
    [
      ...new Set(
        input
          .split('\n')
          .map((line) => line.trim().split(/\s+/).slice(0, 2).join(' '))
          .filter(Boolean),
      ),
    ].join(', ');
  let what: string;
  if ((tool === 'ip' && spec.args.includes('-batch')) || (tool === 'nft' && spec.args.includes('-f'))) {
    what = `${spec.args.filter((a) => a !== '-').join(' ')} [${scriptVerbs(spec.input ?? '')}]`;
  } else if (tool === 'sysctl') {
    what = spec.args.includes('-w') ? '-w' : '-n';
  } else if (tool === 'iptables-restore' || tool === 'iptables-save') {
    what = spec.args.filter((a) => a.startsWith('-')).join(' ');
  } else {
    what = spec.args
      .filter((a) => a.startsWith('-') || /^(list|add|delete|show|route|link|table)$/.test(a))
      .slice(0, 4)
      .join(' ');
  }
  return `${tool} ${what} @${where}`.replace(/\s+/g, ' ');
}

/** The first stack frame outside the benchmark: `Function file.js:line` of the SDK code that called the store. */
function callerOf(): string {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, callerOf);
  for (const line of (holder.stack ?? '').split('\n').slice(1)) {
    if (line.includes('/bench/')) continue;
    const match = /at (?:async )?(?:(\S+) \()?(?:file:\/\/)?[^)]*\/([^/)]+\.js):(\d+):\d+\)?/.exec(line);
    if (match) return `${match[1] ?? '<anonymous>'} ${match[2]}:${match[3]}`;
  }
  return 'unknown';
}

function labelFromArgv(argv: readonly string[]): string {
  // nsenter --net=PATH -- TOOL ARGS: the tool follows the `--`.
  const dashes = argv.indexOf('--');
  return basename(argv[dashes + 1] ?? argv[0] ?? '?');
}
