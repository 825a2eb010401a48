// The settings the global options make, alone in a module that imports
// nothing: the registry, the session and the drivers read them, while the
// parser of the global options (global-options.ts) needs the registry's
// commands; the type beside the parser made a loop of the two.

/**
 * The daemon-level options, given before the subcommand as in
 * `docker -H … run`, each also read from a `NETMODE_*` environment variable
 * (the flag wins).
 */
export interface GlobalOptions {
  /** An existing bridge for the default network (Docker's `-b`). */
  readonly bridge?: string;
  /** The default bridge's address and prefix (Docker's `--bip`). */
  readonly bip?: string;
  /** Inter-container communication on the default bridge (Docker's `--icc`). */
  readonly icc?: boolean;
  /** Whether netmode turns on ip_forward in the host namespace. */
  readonly ipForward?: boolean;
  /** Whether outbound traffic is masqueraded. */
  readonly ipMasq?: boolean;
  /** MTU of bridges and veth pairs. */
  readonly mtu?: number;
  /** Whether a userland proxy serves published ports too (Docker's `--userland-proxy`). */
  readonly userlandProxy?: boolean;
  /** The firewall backend; `--iptables=false` means `none`. */
  readonly firewall?: string;
  /** Where netmode keeps its state. */
  readonly stateDir: string;
  /** A named namespace (`/run/netns/NAME`) that plays the host. */
  readonly hostNetns?: string;
  /** Prefix of the namespaces and interfaces netmode makes. */
  readonly namePrefix?: string;
  /**
   * The modules whose `register…Driver` function registers the drivers,
   * instead of the four built-in ones: package names, or paths from the
   * current directory.
   */
  readonly driverPackages?: readonly string[];
  /**
   * A `netmode daemon` to talk to (Docker's `-H`: `unix:///PATH` or
   * `tcp://HOST:PORT`) instead of embedding the SDK; for `netmode daemon`,
   * where it listens when the command gives no `-H` of its own.
   */
  readonly host?: string;
  /** With a `tcp://` host: TLS, verifying the daemon's certificate (Docker's `--tlsverify`). */
  readonly tlsVerify?: boolean;
  /** The CA file that signed the daemon's certificate (Docker's `--tlscacert`). */
  readonly tlsCaCert?: string;
  /** The client certificate file (Docker's `--tlscert`). */
  readonly tlsCert?: string;
  /** The client certificate's key file (Docker's `--tlskey`). */
  readonly tlsKey?: string;
  /** Print the full error (context, stack) on failure. */
  readonly debug: boolean;
}
