import { options, operands } from '../inputs/exec.js';
import { defineCommand } from '../registry/command-spec.js';

/** `netmode exec NAME [--] CMD [ARGS...]` */
export const exec = defineCommand({
  name: 'exec',
  daemonSettings: 'read',
  summary: "run a command in a running container's namespaces",
  description: `Runs CMD in the namespaces of the running container NAME (network, mount
and UTS: it sees the container's /etc/hosts, /etc/resolv.conf, /sys and
hostname), in the foreground and in the current directory, and exits with
its exit status.`,
  options,
  operands,
  handler: async () => (await import('../commands/exec.js')).execCommand,
});
