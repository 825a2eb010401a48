/**
 * A container's names, as Docker's `docker run` flags give them: its
 * hostname, the resolvers and search domains of its `resolv.conf`, and
 * the extra lines of its `hosts`. They belong to the sandbox: the connect
 * that makes the sandbox gives them, and every endpoint of the sandbox
 * keeps the same copy (a later connect may repeat them, not change them).
 */
export interface NameSettings {
  /**
   * The container's name (Docker's `--name`), one more name its peers
   * resolve it by on user-defined networks. The container id is always one.
   */
  readonly name?: string;
  /**
   * The hostname (`--hostname`): what `/etc/hostname` holds and the
   * container's own addresses are named in its `hosts`. Default: the
   * container id's first 12 characters when it is a 64-hex-digit id, the
   * container id otherwise (cut to 63 characters).
   */
  readonly hostname?: string;
  /** The domain (`--domainname`): `hosts` names the container's addresses `HOSTNAME.DOMAIN` too. */
  readonly domainname?: string;
  /**
   * Resolvers (`--dns`), IPv4 addresses. On a network with the embedded DNS
   * server they are where it forwards the container's other questions; on
   * others they are the `nameserver` lines of its `resolv.conf`. Default:
   * the host's.
   */
  readonly dns?: readonly string[];
  /** Search domains (`--dns-search`); default the host's. `.` alone means none. */
  readonly dnsSearch?: readonly string[];
  /** Resolver options (`--dns-option`, `ndots:2`); default the host's. */
  readonly dnsOptions?: readonly string[];
  /**
   * Extra `hosts` lines (`--add-host`), each `NAME:ADDRESS`; the address
   * `host-gateway` stands for the host's address on the container's
   * network (the gateway of the endpoint that has the default route).
   */
  readonly extraHosts?: readonly string[];
}

/**
 * Where a sandbox's name files are: one directory per sandbox under the
 * state directory, files of mode 0644, for a runtime to bind-mount over
 * `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf`. netmode rewrites
 * them in place (the same inode) when the container's networks change, so
 * a bind mount shows the change.
 */
export interface SandboxFiles {
  /** The sandbox's directory. */
  readonly directory: string;
  /** The `hostname` file. */
  readonly hostname: string;
  /** The `hosts` file. */
  readonly hosts: string;
  /** The `resolv.conf` file; absent in `none` mode, which has no resolver to name. */
  readonly resolvConf?: string;
}

/** The text of a sandbox's name files, as {@link SandboxFiles} places them. */
export interface NameFileContents {
  /** What `/etc/hostname` holds: the hostname and a newline. */
  readonly hostname: string;
  /** What `/etc/hosts` holds. */
  readonly hosts: string;
  /** What `/etc/resolv.conf` holds; absent in `none` mode. */
  readonly resolvConf?: string;
}
