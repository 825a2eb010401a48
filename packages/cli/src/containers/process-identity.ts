import { readFileSync } from 'node:fs';

// A small copy of @netmode/core's store/process-identity.ts, which core does
// not export: a PID alone may be recycled, so the CLI signals a process only
// when its start time still matches the one it recorded.

/** A process, identified so that a recycled PID is not mistaken for it. */
export interface ProcessIdentity {
  /** The process id. */
  readonly pid: number;
  /** Start time in clock ticks since boot (field 22 of `/proc/PID/stat`). */
  readonly start: string;
}

/**
 * The start time of `pid`, or undefined when no such process exists or it is
 * a zombie. Fields are counted from the last `)`, since the command name
 * (field 2) may itself hold spaces and parentheses.
 */
export function processStartTime(pid: number): string | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 1).trim().split(/\s+/);
  const state = fields[0];
  const start = fields[22 - 3];
  if (state === undefined || start === undefined || !/^\d+$/.test(start) || state === 'Z' || state === 'X') return undefined;
  return start;
}

/** Whether the identified process still runs (same PID, same start time, not a zombie). */
export function isAlive(identity: ProcessIdentity): boolean {
  return processStartTime(identity.pid) === identity.start;
}
