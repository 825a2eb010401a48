import { options } from '../inputs/doctor.js';
import { defineCommand } from '../registry/command-spec.js';
import { NO_OPERANDS } from '../registry/operand-spec.js';

/** `netmode doctor [--json]` */
export const doctor = defineCommand({
  name: 'doctor',
  daemonSettings: 'read',
  summary: 'check this machine for what netmode needs',
  description: `Checks privileges, the tools netmode runs, kernel features (in a scratch
namespace made and deleted for the purpose), ip_forward in the host
namespace (read only) and other firewall managers (read only). Exits 3 when
a check fails.`,
  options,
  operands: NO_OPERANDS,
  embedsSdk: true,
  handler: async () => (await import('../commands/doctor.js')).doctorCommand,
});
