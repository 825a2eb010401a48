import { invalidConfig } from '../../errors.js';
import type { NetnsRef } from '../../model/netns-ref.js';
import type { DriverContext } from '../network-driver.js';

const KEY = /^[A-Za-z0-9_/.-]+$/;

/**
 * Writes sysctls in `netns` with one `sysctl -w` process. Keys use `/` as
 * separator (`net/ipv4/conf/eth0.5/arp_notify`), since interface names may
 * contain dots; values are whole numbers.
 *
 * @throws NetModeError ERR_INVALID_CONFIG before any process for a key or value of another shape.
 */
export async function writeSysctls(ctx: DriverContext, netns: NetnsRef, values: Readonly<Record<string, string>>): Promise<void> {
  const args = Object.entries(values).map(([key, value]) => {
    if (!KEY.test(key) || !/^-?[0-9]+( -?[0-9]+)*$/.test(value)) throw invalidConfig('sysctl', `unsafe ${key}=${value}`);
    return `${key}=${value}`;
  });
  if (args.length === 0) return;
  await ctx.runner.run({ command: 'sysctl', args: ['-q', '-w', ...args], netns, signal: ctx.signal });
}

/** Reads one sysctl in `netns` (slash-separated key), trimmed. */
export async function readSysctl(ctx: DriverContext, netns: NetnsRef, key: string): Promise<string> {
  if (!KEY.test(key)) throw invalidConfig('sysctl', `unsafe key ${key}`);
  const { stdout } = await ctx.runner.run({ command: 'sysctl', args: ['-n', key], netns, signal: ctx.signal });
  return stdout.trim();
}
