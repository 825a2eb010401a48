import { defineCommand, type CommandInput } from '../registry/command-spec.js';
import { NO_OPERANDS } from '../registry/operand-spec.js';
import { JSON_OPTION } from '../registry/option-spec.js';

const options = { json: JSON_OPTION } as const;

/** What `doctor`'s handler gets. */
export type DoctorInput = CommandInput<typeof options, typeof NO_OPERANDS>;

/** `netmode doctor [--json]` */
export const doctor = defineCommand({
  name: 'doctor',
  summary: 'check this machine for what netmode needs',
  description: `Checks privileges, the tools netmode runs, kernel features (in a scratch
namespace made and deleted for the purpose), ip_forward in the host
namespace (read only) and other firewall managers (read only). Exits 3 when
a check fails.`,
  options,
  operands: NO_OPERANDS,
  handler: async () => (await import('../commands/doctor.js')).doctorCommand,
});
