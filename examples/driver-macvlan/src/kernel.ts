import { setTimeout as sleep } from 'node:timers/promises';
import { IpBatch, invalidConfig, isToolFailure, runIpBatch, type DriverContext, type NetnsRef } from '@netmode/core';
import { MACVLAN_MODES, type MacvlanMode } from './options.js';

/** What one macvlan link is made of. */
export interface MacvlanLink {
  /** Its name inside the sandbox (`eth0` unless the caller chose one). */
  readonly name: string;
  /** The parent interface in the host namespace. */
  readonly parent: string;
  /** The macvlan mode. */
  readonly mode: MacvlanMode;
  /** Its MAC; absent in passthru mode, where the kernel gives it the parent's. */
  readonly mac?: string;
  /** The file pinning the sandbox it is born in (`/run/netns/NAME`, `/proc/PID/ns/net`). */
  readonly netnsPath: string;
}

/**
 * The host-side batch that makes a macvlan endpoint, run in the host
 * namespace where the parent lives:
 * `link add NAME [address MAC] link PARENT netns PATH type macvlan mode MODE`.
 * The link is born inside the sandbox under its final name: no move, no
 * rename, and a name taken in the host namespace is no obstacle. Core's
 * `IpBatch.linkAdd` checks every value; the mode is checked here.
 */
export function macvlanAdd(link: MacvlanLink): IpBatch {
  if (!MACVLAN_MODES.includes(link.mode)) throw invalidConfig('mode', `${JSON.stringify(link.mode)} is not a macvlan mode`);
  return new IpBatch().linkAdd(link.name, 'macvlan', {
    ...(link.mac === undefined ? {} : { mac: link.mac }),
    parent: link.parent,
    netnsPath: link.netnsPath,
    kindArgs: ['mode', link.mode],
  });
}

// A macvlan whose namespace was just deleted lingers in the kernel for about
// 30 ms, still holding its MAC on the parent: bringing up a new one with the
// same MAC (the same static address or `mac` again) fails with "Address
// already in use" meanwhile.
const MAC_BUSY_WAIT_MS = 25;
const MAC_BUSY_ATTEMPTS = 40;

/**
 * Runs the in-sandbox batch, retrying while the link's `up` line fails
 * because the MAC is still held by a macvlan the kernel is removing. The
 * lines before `up` are idempotent, so the whole batch can run again.
 */
export async function runUntilMacFree(ctx: DriverContext, netns: NetnsRef, batch: IpBatch, upLine: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await runIpBatch(ctx.runner, netns, batch, ctx.signal);
      return;
    } catch (error) {
      const macBusy = isToolFailure(error, 'busy') && error.context['failedCommand'] === upLine;
      if (!macBusy || attempt >= MAC_BUSY_ATTEMPTS) throw error;
      // No signal here: an abort meanwhile fails the next run with ERR_ABORTED.
      await sleep(MAC_BUSY_WAIT_MS);
    }
  }
}
