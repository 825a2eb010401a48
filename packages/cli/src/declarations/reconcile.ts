import { options } from '../inputs/reconcile.js';
import { defineCommand } from '../registry/command-spec.js';
import { NO_OPERANDS } from '../registry/operand-spec.js';

/** `netmode reconcile [--json]` */
export const reconcile = defineCommand({
  name: 'reconcile',
  summary: 'repair after a crash, a reboot or a flushed firewall',
  description: `Brings records and kernel back in line: finishes operations a dead process
left half-done, tears down endpoints whose namespace vanished (a reboot),
marks endpoints whose links were removed by hand as broken, restores firewall
rules someone flushed, and releases leases nobody owns.`,
  options,
  operands: NO_OPERANDS,
  handler: async () => (await import('../commands/reconcile.js')).reconcileCommand,
});
