import { ErrorCode, NetModeError, invalidConfig } from '../errors.js';
import type { NetnsRef } from '../model/netns-ref.js';
import { assertInterfaceName, assertNetnsName } from '../net/names.js';
import type { CommandResult, CommandRunner } from './runner.js';

// `ip -batch` splits each line on white space and treats `#` as a comment, so
// every token must be free of both; names and values are checked by their own
// rules before they get here, this is the last guard.
const SAFE_TOKEN = /^[A-Za-z0-9_.:/@+-]+$/;

/**
 * Builds the lines of one `ip -batch -` script. Each method validates its
 * inputs, so nothing unsafe reaches a line; anything else is an
 * ERR_INVALID_CONFIG thrown before a process starts.
 */
export class IpBatch {
  readonly #lines: string[] = [];

  /** The lines so far, one command each. */
  get lines(): readonly string[] {
    return this.#lines;
  }

  /** Whether no line was added. */
  get empty(): boolean {
    return this.#lines.length === 0;
  }

  /** `link set dev DEV up`. */
  linkUp(dev: string): this {
    assertInterfaceName(dev);
    return this.#add('link', 'set', 'dev', dev, 'up');
  }

  /** `link set dev DEV down`. */
  linkDown(dev: string): this {
    assertInterfaceName(dev);
    return this.#add('link', 'set', 'dev', dev, 'down');
  }

  /** `link delete dev DEV`. */
  linkDelete(dev: string): this {
    assertInterfaceName(dev);
    return this.#add('link', 'delete', 'dev', dev);
  }

  /** `netns add NAME`. Never put this in a batch run with `ip -n` (see FACTS: it is lost). */
  netnsAdd(name: string): this {
    assertNetnsName(name);
    return this.#add('netns', 'add', name);
  }

  /** `netns delete NAME`. */
  netnsDelete(name: string): this {
    assertNetnsName(name);
    return this.#add('netns', 'delete', name);
  }

  /** `address add CIDR dev DEV`; the caller has validated `cidr` with the address helpers. */
  addressAdd(cidr: string, dev: string): this {
    assertInterfaceName(dev);
    return this.#add('address', 'add', cidr, 'dev', dev);
  }

  /** `route add default via GATEWAY dev DEV`; `family` selects `-4` or `-6` routing. */
  defaultRouteAdd(gateway: string, dev: string, family: 4 | 6 = 4): this {
    assertInterfaceName(dev);
    return this.#add(`-${family}`, 'route', 'add', 'default', 'via', gateway, 'dev', dev);
  }

  /** The script: the lines joined with newlines, ending with one. */
  toString(): string {
    return this.#lines.map((line) => `${line}\n`).join('');
  }

  #add(...tokens: string[]): this {
    for (const token of tokens) {
      if (!SAFE_TOKEN.test(token)) throw invalidConfig('ip batch', `unsafe token ${JSON.stringify(token)}`);
    }
    this.#lines.push(tokens.join(' '));
    return this;
  }
}

/**
 * Runs a batch as one `ip -batch -` process in `netns`. `ip` stops at the
 * first failing line and reports `Command failed -:N`; the error's context
 * names that line so the caller knows which steps took effect.
 */
export async function runIpBatch(
  runner: CommandRunner,
  netns: NetnsRef,
  batch: IpBatch,
  signal?: AbortSignal,
): Promise<CommandResult | undefined> {
  if (batch.empty) return undefined;
  try {
    return await runner.run({ command: 'ip', args: ['-batch', '-'], netns, input: batch.toString(), signal });
  } catch (error) {
    if (error instanceof NetModeError && error.code === ErrorCode.COMMAND_FAILED) {
      const match = /Command failed -:(\d+)/.exec(String(error.context['stderr'] ?? ''));
      const lineNumber = match ? Number(match[1]) : undefined;
      error.withContext({ failedLine: lineNumber, failedCommand: lineNumber ? batch.lines[lineNumber - 1] : undefined });
    }
    throw error;
  }
}
