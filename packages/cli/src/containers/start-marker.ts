import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { processStartTime, type ProcessIdentity } from '@netmode/core';

/**
 * Starting a container's process and recording it are two steps, and the
 * `netmode run` doing them can be killed in between. So the record first
 * gets a random token, the process is started with the token in its
 * environment, and a record whose starter died without recording a process
 * is matched to its process by that token: nothing the CLI started can run
 * unrecorded, invisible to `ps`, `rm` and `gc`.
 *
 * @module
 */

/** The environment variable that carries a container's start token. */
export const START_TOKEN_VARIABLE = 'NETMODE_START_TOKEN';

/** A fresh start token: 32 hex digits. */
export function newStartToken(): string {
  return randomBytes(16).toString('hex');
}

/**
 * The process whose environment carries `token`, if one runs. Reads
 * `/proc/PID/environ` of every process (root may), so it is used only for
 * a record whose starter died before recording its process.
 */
export function findMarkedProcess(token: string): ProcessIdentity | undefined {
  const marker = `${START_TOKEN_VARIABLE}=${token}`;
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
    } catch {
      continue; // gone meanwhile, or a kernel thread
    }
    if (!environ.split('\0').includes(marker)) continue;
    const pid = Number(entry);
    const start = processStartTime(pid);
    if (start !== undefined) return { pid, start };
  }
  return undefined;
}
