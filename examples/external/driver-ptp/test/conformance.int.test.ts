import { testNetworkDriver } from '@netmode/core/testing/conformance';
import { registerPtpDriver } from '../src/index.js';

// The suite every netmode driver runs, from the packed @netmode/core: refusals
// before any command, connect/check/disconnect leaving host and records as
// they were, a second manager on the same state, two endpoints at once, and
// a rollback for every single command failing before or after it takes effect.
testNetworkDriver({
  register: registerPtpDriver,
  network: { driver: 'ptp', subnets: [{ subnet: '10.220.0.0/24' }] },
  secondNetwork: { driver: 'ptp', subnets: [{ subnet: '10.220.1.0/24' }] },
  createsSandbox: true,
  invalidOptions: [{ ports: [{ hostPort: 8080, containerPort: 80 }] }, { ip: '10.9.9.9' }, { ip: 'fd00::2' }],
});
