import type { ToolFailure } from '../errors.js';

/**
 * What a tool's failure means, read once from its message by the runner, so
 * that no caller matches stderr text of its own: the kernel (through `ip`,
 * `nft`, `conntrack`, …) says the same few things in many words.
 *
 * @module
 */

// Order matters where messages could match several: the first match wins.
const PATTERNS: readonly (readonly [ToolFailure, RegExp])[] = [
  ['overlap', /interval overlaps/],
  ['exists', /File exists|already exists/],
  ['busy', /Device or resource busy|Address already in use|Resource busy/],
  ['missing', /does not exist|Cannot find device|No such file or directory|No such process|No such device|0 flow entries/],
];

/** The kind of failure a tool's standard error describes. */
export function classifyToolFailure(stderr: string): ToolFailure {
  for (const [kind, pattern] of PATTERNS) if (pattern.test(stderr)) return kind;
  return 'unknown';
}
