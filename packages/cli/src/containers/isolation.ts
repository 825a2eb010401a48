import { resolveToolPath, type Sandbox } from '@netmode/core';

/**
 * A CLI container's own view of the system besides its network: its
 * process starts in a mount and a UTS namespace of its own, where
 * `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf` are the sandbox's
 * files (bind mounts, so the SDK's rewrites show at once), `/sys` is a
 * sysfs of the container's network namespace (so `/sys/class/net` lists its
 * interfaces) and the hostname is its own. Nothing else of the host's file
 * system changes: the mount namespace is private, so none of its mounts
 * reaches the host's.
 *
 * @module
 */

/** The namespaces a container's process has of its own besides the network's: what `exec` enters. */
export const OWN_NAMESPACES = ['mnt', 'uts'] as const;

/** One of {@link OWN_NAMESPACES}. */
export type OwnNamespace = (typeof OWN_NAMESPACES)[number];

/**
 * The file descriptor on which the setup reports: the text of what failed,
 * or {@link READY} just before it becomes the container's command.
 */
export const SETUP_FD = 3;

/** The last line the setup writes on {@link SETUP_FD} when all went well. */
export const READY = 'ready';

// Positional parameters, never text pasted into the script: $1 the hostname,
// $2–$4 the files for /etc/hostname, /etc/hosts, /etc/resolv.conf ('' for
// none), $5–$7 mount, umount and findmnt, then the command.
//
// - The hostname is written through /proc, which the UTS namespace makes the
//   container's own: no `hostname` tool needed.
// - Every nsfs mount (the /run/netns pins of other sandboxes) is detached
//   here: a copy of one in this mount namespace would keep that network
//   namespace, and its veth, alive after netmode deletes it. One that
//   vanishes between the listing and its umount (another runtime deleted
//   the namespace) is not a failure.
// - /sys is detached, then mounted again: a sysfs shows the network
//   namespace of the process that mounts it, this one.
const SETUP_SCRIPT = `set -f
fail() { printf '%s\\n' "$*" >&${SETUP_FD}; exit 125; }
hostname=$1 hostname_file=$2 hosts_file=$3 resolv_file=$4 mount=$5 umount=$6 findmnt=$7
shift 7
{ printf '%s' "$hostname" > /proc/sys/kernel/hostname; } 2>&${SETUP_FD} || fail "could not set the hostname to $hostname"
bind() { [ -z "$1" ] || "$mount" --bind "$1" "$2" 2>&${SETUP_FD} || fail "could not bind-mount $1 on $2"; }
bind "$hostname_file" /etc/hostname
bind "$hosts_file" /etc/hosts
bind "$resolv_file" /etc/resolv.conf
pins=$("$findmnt" --raw --noheadings --types nsfs --output TARGET 2>&${SETUP_FD}) || fail "could not list the namespace mounts"
# Another runtime may delete a namespace meanwhile: a pin that went by itself is no failure.
for pin in $pins; do
  "$umount" --lazy "$pin" 2>/dev/null || ! "$findmnt" --mountpoint "$pin" >/dev/null 2>&1 || fail "could not detach $pin"
done
"$umount" --lazy /sys 2>/dev/null
"$mount" -t sysfs -o nosuid,nodev,noexec sysfs /sys 2>&${SETUP_FD} || fail "could not mount a sysfs on /sys"
printf '${READY}\\n' >&${SETUP_FD}
exec ${SETUP_FD}>&-
exec "$@"`;

/**
 * The argv that starts `command` as a container's process: in the network
 * namespace at `netnsPath`, in a new private mount namespace and a new UTS
 * namespace, after the setup above. No process is forked on the way
 * (`nsenter` and `unshare` without `--fork`, the shell `exec`s), so the PID
 * started is the command's. The setup reports on {@link SETUP_FD}, which the
 * caller must open as a pipe; a failed setup exits 125 before the command
 * runs.
 */
export function isolatedArgv(netnsPath: string, sandbox: Pick<Sandbox, 'hostname' | 'files'>, command: readonly string[]): string[] {
  const files = sandbox.files;
  return [
    resolveToolPath('nsenter'),
    `--net=${netnsPath}`,
    '--',
    resolveToolPath('unshare'),
    '--mount',
    '--uts',
    '--propagation',
    'private',
    '--',
    resolveToolPath('sh'),
    '-c',
    SETUP_SCRIPT,
    'netmode-setup',
    sandbox.hostname,
    files?.hostname ?? '',
    files?.hosts ?? '',
    files?.resolvConf ?? '',
    resolveToolPath('mount'),
    resolveToolPath('umount'),
    resolveToolPath('findmnt'),
    ...command,
  ];
}

/**
 * The argv that runs `command` beside a container's process `pid`: in the
 * network namespace at `netnsPath` and in the namespaces the process has of
 * its own (`namespaces`; none for a container started before netmode gave
 * it any), in the caller's working directory.
 */
export function enterArgv(netnsPath: string, pid: number, namespaces: readonly OwnNamespace[], command: readonly string[]): string[] {
  const own = namespaces.map((ns) => (ns === 'mnt' ? `--mount=/proc/${pid}/ns/mnt` : `--uts=/proc/${pid}/ns/uts`));
  // nsenter opens every namespace and the directory before it enters any,
  // so the paths are the caller's; entering a mount namespace would
  // otherwise leave the command in /.
  const wd = own.length > 0 ? [`--wd=${process.cwd()}`] : [];
  return [resolveToolPath('nsenter'), `--net=${netnsPath}`, ...own, ...wd, '--', ...command];
}
