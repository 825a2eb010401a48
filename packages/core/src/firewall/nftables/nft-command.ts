import { ErrorCode, isNetModeError } from '../../errors.js';
import type { FirewallScope } from '../firewall.js';
import { parseTableListing, type TableListing } from './listing.js';

/**
 * The two ways netmode runs `nft`, shared by its tables.
 *
 * @module
 */

/** Runs one transaction: the script on standard input of one `nft -f -`. */
export async function applyScript(scope: FirewallScope, input: string): Promise<void> {
  await scope.runner.run({ command: 'nft', args: ['-f', '-'], netns: scope.netns, input, signal: scope.signal });
}

/**
 * `nft -j FLAGS list table FAMILY NAME`, for `table` as nft names it
 * (`inet netmode`), parsed; `null` when the table does not exist.
 */
export async function readTable(scope: FirewallScope, table: string, flags: readonly string[]): Promise<TableListing | null> {
  const args = ['-j', ...flags, 'list', 'table', ...table.split(' ')];
  try {
    const spec = { command: 'nft', args, netns: scope.netns, signal: scope.signal, expectedFailure: 'missing' as const };
    return parseTableListing((await scope.runner.run(spec)).stdout);
  } catch (error) {
    if (tableMissing(error)) return null;
    throw error;
  }
}

/** Whether nft failed because the table (or a set in it) does not exist: its ENOENT message. */
export function tableMissing(error: unknown): boolean {
  return isNetModeError(error, ErrorCode.COMMAND_FAILED) && /No such file or directory/.test(String(error.context['stderr']));
}
