/** The iptables tables netmode writes to. */
export type IptablesTable = 'raw' | 'nat' | 'filter';

/** A chain in a table. */
export interface ChainRef {
  /** The table the chain lives in. */
  readonly table: IptablesTable;
  /** The chain's name. */
  readonly chain: string;
}

/**
 * One rule: its chain and its arguments, written in the normalized form
 * `iptables-save` prints, so a wanted rule and a saved one compare token by
 * token. That form puts `-s`, `-d`, `-i`, `-o`, `-p` first (in that order),
 * keeps the matches in the order given (`-p tcp --dport` becomes
 * `-p tcp -m tcp --dport`), prints addresses with their prefix length
 * (`/32`), and quotes a comment unless it is made of `[A-Za-z0-9_-]` only.
 */
export interface IptablesRule extends ChainRef {
  /** Everything after `-A CHAIN`, one unquoted token per element. */
  readonly args: readonly string[];
}

/** The comment on netmode's shared rules: the jumps and the base rules of its chains. */
export const BASE_OWNER = 'netmode';

/** The comment on every rule of one network. */
export function networkOwner(networkId: string): string {
  return `netmode:network:${networkId}`;
}

/** The comment on every rule of one endpoint. */
export function endpointOwner(endpointId: string): string {
  return `netmode:endpoint:${endpointId}`;
}

/** A rule carrying `owner` as its comment, placed after the matches and before the target, as iptables-save prints it. */
export function ownedRule(ref: ChainRef, owner: string, matches: readonly string[], target: readonly string[]): IptablesRule {
  return { table: ref.table, chain: ref.chain, args: [...matches, '-m', 'comment', '--comment', owner, ...target] };
}

/** The owner comment of a rule, or `undefined` when it carries none. */
export function ownerOf(args: readonly string[]): string | undefined {
  const at = args.indexOf('--comment');
  return at < 0 ? undefined : args[at + 1];
}

/** A key that is equal for two rules exactly when their arguments are. */
export function ruleKey(args: readonly string[]): string {
  return args.join('\u0000');
}

// xtables_save_string leaves a comment bare only when it consists of these.
const BARE_COMMENT = /^[A-Za-z0-9_-]+$/;

/** The arguments as one line of an `iptables-restore` script, quoting the comment as `iptables-save` does. */
export function formatArgs(args: readonly string[]): string {
  return args.map((token, i) => (args[i - 1] === '--comment' && !BARE_COMMENT.test(token) ? quote(token) : token)).join(' ');
}

function quote(text: string): string {
  return `"${text.replace(/["'\\]/g, (c) => `\\${c}`)}"`;
}

/**
 * Splits one `iptables-save` rule line into unquoted tokens: whitespace
 * separates, double quotes group, and a backslash inside quotes escapes the
 * next character (how `iptables-save` writes a comment with a quote in it).
 */
export function tokenize(line: string): string[] {
  const tokens: string[] = [];
  let current = '';
  let inToken = false;
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const c = line.charAt(i);
    if (quoted) {
      if (c === '\\' && i + 1 < line.length) {
        i += 1;
        current += line.charAt(i);
      } else if (c === '"') {
        quoted = false;
      } else {
        current += c;
      }
    } else if (c === '"') {
      quoted = true;
      inToken = true;
    } else if (c === ' ' || c === '\t') {
      if (inToken) tokens.push(current);
      current = '';
      inToken = false;
    } else {
      current += c;
      inToken = true;
    }
  }
  if (inToken) tokens.push(current);
  return tokens;
}
