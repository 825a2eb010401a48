import type { Declaration } from '../registry/command-spec.js';
import { daemon } from './daemon.js';
import { demo } from './demo.js';
import { doctor } from './doctor.js';
import { exec } from './exec.js';
import { gc } from './gc.js';
import { inspect } from './inspect.js';
import { network } from './network.js';
import { ps } from './ps.js';
import { reconcile } from './reconcile.js';
import { restart } from './restart.js';
import { rm } from './rm.js';
import { run } from './run.js';
import { start } from './start.js';
import { stop } from './stop.js';

/**
 * Every command of `netmode`, in the order `netmode --help` lists them.
 * Nothing here imports the SDK: each handler is loaded when its command runs.
 * What a command takes (its options, operands and its handler's input type)
 * is in `inputs/`, below both the declaration, which loads the handler, and
 * the handler, which takes that input: neither imports the other.
 */
export const COMMANDS: readonly Declaration[] = [
  run,
  exec,
  ps,
  inspect,
  start,
  stop,
  restart,
  rm,
  gc,
  reconcile,
  network,
  daemon,
  doctor,
  demo,
];
