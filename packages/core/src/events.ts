import { EventEmitter } from 'eventemitter3';
import type { NetModeError, ToolFailure } from './errors.js';
import type { Endpoint } from './model/endpoint.js';
import type { NetnsRef } from './model/netns-ref.js';
import type { NetworkRecord } from './model/network.js';
import type { ReconcileReport } from './model/maintenance.js';

/** Payload of `network:created` and `network:removed`. */
export interface NetworkEvent {
  /** The network record. */
  readonly network: NetworkRecord;
  /** Wall time of the whole operation. */
  readonly durationMs: number;
}

/** Payload of `endpoint:attached` and `endpoint:detached`. */
export interface EndpointEvent {
  /** The endpoint record as it was at the end of the operation. */
  readonly endpoint: Endpoint;
  /** Wall time of the whole operation, records included. */
  readonly durationMs: number;
}

/** Payload of `endpoint:failed`. */
export interface EndpointFailedEvent {
  /** The container whose connect failed. */
  readonly containerId: string;
  /** The network it was connecting to. */
  readonly network: string;
  /** The driver that failed. */
  readonly driver: string;
  /** The error the caller receives. */
  readonly error: NetModeError;
  /** Whether every completed step was undone; `false` leaves the record `broken` for a later disconnect. */
  readonly rolledBack: boolean;
}

/** Payload of `sandbox:created` and `sandbox:deleted`. */
export interface SandboxEvent {
  /** The namespace. */
  readonly netns: NetnsRef;
}

/** Payload of `sandbox:owner-lost` and `sandbox:owner-regained`. */
export interface SandboxOwnerEvent {
  /** The container that owns the shared sandbox. */
  readonly containerId: string;
  /** The sandbox. */
  readonly netns: NetnsRef;
  /** The containers that joined it (`container:NAME`) and keep using it. */
  readonly joiners: readonly string[];
}

/** Payload of `endpoint:broken`. */
export interface EndpointBrokenEvent {
  /** The endpoint, now with status `broken`. */
  readonly endpoint: Endpoint;
  /** What no longer matches the record, one sentence each. */
  readonly problems: readonly string[];
}

/** Payload of `reconcile:repaired`. */
export interface ReconcileEvent {
  /** What `reconcile()` found and did. */
  readonly report: ReconcileReport;
}

/** Payload of `warning`. */
export interface WarningEvent {
  /** A stable code for the kind of warning, for example `PORTS_IGNORED_IN_HOST_MODE`. */
  readonly code: string;
  /** What was ignored or looks wrong, in a sentence. */
  readonly message: string;
  /** The container concerned, if any. */
  readonly containerId?: string;
  /** The network concerned, if any. */
  readonly network?: string;
}

/** Payload of `command:exec`. */
export interface CommandExecEvent {
  /** The full argument vector, binary first (including any `nsenter` prefix). */
  readonly argv: readonly string[];
  /** The namespace it ran in, as `formatNetns` writes it. */
  readonly netns: string;
  /** Wall time from spawn to exit. */
  readonly durationMs: number;
  /** The exit status, when the process exited on its own. */
  readonly exitCode?: number;
  /**
   * Whether the command counts as failed (non-zero exit, timeout, abort,
   * spawn error). A non-zero exit that its caller expected as an answer (a
   * probe finding nothing) is not: see {@link CommandExecEvent.expected}.
   */
  readonly failed: boolean;
  /**
   * Set when the command exited non-zero in the way its caller expected, as
   * an answer (`missing`: the probed link, table or flow does not exist);
   * `failed` is then `false`.
   */
  readonly expected?: ToolFailure;
}

/** Payload of `listener:error`. */
export interface ListenerErrorEvent {
  /** The event whose listener threw. */
  readonly event: string;
  /** What it threw. */
  readonly error: unknown;
}

/**
 * Everything netmode reports, by event name, with the arguments each listener
 * receives. Events report what has already happened; they are never asked for
 * permission, and a listener that throws never breaks the operation (its error
 * is reported as `listener:error`).
 */
export interface NetModeEvents {
  /** A network was created and persisted. */
  'network:created': [event: NetworkEvent];
  /** A network and its kernel objects were removed. */
  'network:removed': [event: NetworkEvent];
  /** An endpoint is fully set up and recorded. */
  'endpoint:attached': [event: EndpointEvent];
  /** An endpoint was torn down and its record removed. */
  'endpoint:detached': [event: EndpointEvent];
  /** A connect failed; `rolledBack` says whether every completed step was undone. */
  'endpoint:failed': [event: EndpointFailedEvent];
  /** `reconcile()` found the kernel no longer matching an endpoint (a link removed by hand); `disconnect()` cleans it up. */
  'endpoint:broken': [event: EndpointBrokenEvent];
  /**
   * `reconcile()` finished having changed something, or having failed to
   * (the report says what); not emitted when it found everything in order.
   */
  'reconcile:repaired': [event: ReconcileEvent];
  /** A network namespace was created for a sandbox. */
  'sandbox:created': [event: SandboxEvent];
  /** A sandbox namespace netmode owned was deleted. */
  'sandbox:deleted': [event: SandboxEvent];
  /** A sandbox's owner disconnected while joiners still use it: the sandbox and its network stay. */
  'sandbox:owner-lost': [event: SandboxOwnerEvent];
  /** An orphaned sandbox's owner reconnected and took it back, same network and address. */
  'sandbox:owner-regained': [event: SandboxOwnerEvent];
  /** Something was ignored or looks wrong but did not stop the operation (for example ports published in host mode). */
  warning: [event: WarningEvent];
  /** One process was run by the command runner. */
  'command:exec': [event: CommandExecEvent];
  /** A listener of another event threw; the operation went on. */
  'listener:error': [event: ListenerErrorEvent];
}

/** The name of one netmode event. */
export type NetModeEventName = keyof NetModeEvents;

/**
 * The typed event emitter behind `NetworkManager.events`. Emitting never
 * throws: a listener's exception is caught and reported as `listener:error`,
 * so a faulty listener cannot interrupt a kernel change or its rollback.
 * Listeners are called without a `this` context.
 */
export class NetModeEmitter extends EventEmitter<NetModeEvents> {
  override emit<E extends NetModeEventName>(event: E, ...args: EventEmitter.ArgumentMap<NetModeEvents>[E]): boolean {
    let listened = false;
    for (const listener of this.listeners(event)) {
      listened = true;
      // removeListener with once=true removes the listener only if it was
      // added with once(), which is how eventemitter3 itself ends a once().
      this.removeListener(event, listener as never, undefined, true);
      try {
        (listener as (...a: unknown[]) => void)(...args);
      } catch (error) {
        if (event !== 'listener:error') this.emit('listener:error', { event, error });
      }
    }
    return listened;
  }
}
