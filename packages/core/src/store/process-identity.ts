import { readFileSync } from 'node:fs';

/**
 * A process, identified so that a recycled PID is not mistaken for it: the
 * PID plus the process's start time in clock ticks since boot (field 22 of
 * `/proc/PID/stat`). Valid only within one PID namespace.
 */
export interface ProcessIdentity {
  /** The process id. */
  readonly pid: number;
  /** Start time in clock ticks since boot, as `/proc/PID/stat` prints it. */
  readonly start: string;
}

/**
 * Reads the process state (field 3) and start time (field 22) from the text
 * of `/proc/PID/stat`. The command name (field 2) is in parentheses and may
 * itself contain spaces and parentheses, so fields are counted from the last
 * `)`. Returns undefined for text that does not have that shape.
 */
export function parseProcStat(text: string): { state: string; startTime: string } | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const state = fields[0];
  const startTime = fields[22 - 3];
  if (state === undefined || startTime === undefined || !/^\d+$/.test(startTime)) return undefined;
  return { state, startTime };
}

/**
 * The start time of `pid`, or `undefined` when no such process exists or it
 * is a zombie (killed but not yet reaped: it will never act again).
 */
export function processStartTime(pid: number): string | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const parsed = parseProcStat(text);
  if (parsed === undefined || parsed.state === 'Z' || parsed.state === 'X') return undefined;
  return parsed.startTime;
}

/** The identity of the calling process. */
export function currentProcess(): ProcessIdentity {
  const start = processStartTime(process.pid);
  if (start === undefined) throw new Error(`cannot read /proc/${process.pid}/stat: is /proc mounted?`);
  return { pid: process.pid, start };
}

/** Whether the identified process is still running (same PID, same start time, not a zombie). */
export function isProcessAlive(identity: ProcessIdentity): boolean {
  return processStartTime(identity.pid) === identity.start;
}
