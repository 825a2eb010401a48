/**
 * What a command takes after its options, as its declaration states it. The
 * parser checks the count, with the message the kind implies, and `--help`
 * shows it in the usage line (`NAME`, `NAME...`, `[--] CMD [ARGS...]`).
 */
export type OperandSpec =
  /** Nothing: `ps`, `gc`. Any operand is refused as unexpected. */
  | { readonly kind: 'none' }
  /** Exactly one name: `inspect NAME`. */
  | { readonly kind: 'one'; readonly name: string; readonly what: string }
  /** One name or more, each handled in turn: `rm NAME...`. */
  | { readonly kind: 'some'; readonly name: string; readonly what: string }
  /**
   * Exactly these names, in this order: `network connect NETWORK CONTAINER`.
   * The handler gets each under its `key`.
   */
  | { readonly kind: 'fixed'; readonly names: readonly NamedOperand[] }
  /**
   * A command line to start, after `--` or at the first operand (Docker's
   * `run`), optionally after one name it runs in (`exec NAME CMD`).
   * `example` completes the message when the command is missing.
   */
  | { readonly kind: 'command'; readonly target?: { readonly name: string; readonly what: string }; readonly example?: string };

/** One of the names of a `fixed` operand list. */
export interface NamedOperand {
  /** What the handler gets it as (`network`). */
  readonly key: string;
  /** Its name in the usage line (`NETWORK`). */
  readonly name: string;
  /** What it is, for the message when it is missing (`network name`). */
  readonly what: string;
}

/** What the handler gets for its operands, by the declared kind. */
export type OperandValues<A extends OperandSpec> = A extends { readonly kind: 'one' }
  ? { readonly name: string }
  : A extends { readonly kind: 'some' }
    ? { readonly names: readonly string[] }
    : A extends { readonly kind: 'fixed'; readonly names: readonly { readonly key: infer K extends string }[] }
      ? { readonly [P in K]: string }
      : A extends { readonly kind: 'command'; readonly target: object }
        ? { readonly name: string; readonly command: readonly string[] }
        : A extends { readonly kind: 'command' }
          ? { readonly command: readonly string[] }
          : Record<never, never>;

/** No operands: most read commands. */
export const NO_OPERANDS = { kind: 'none' } as const satisfies OperandSpec;
