import {
  NftablesFirewall,
  registerFirewallBackend,
  type DependencyContainer,
  type Firewall,
  type FirewallBaseState,
  type FirewallCapabilities,
  type FirewallEndpoint,
  type FirewallNetwork,
  type FirewallOwner,
  type FirewallScope,
} from '@netmode/core';
import { integrationAvailable } from '@netmode/core/testing';
import { testNetworkDriver } from '@netmode/core/testing/conformance';
import { describe, expect, it } from 'vitest';
import { registerBridgeDriver } from '../src/index.js';

// A firewall backend written outside core, as a third party would: it
// registers itself like a driver, is selected by name, and the bridge driver
// passes the conformance suite on it. It audits every call and lets
// nftables do the work, which a backend of its own may do any way it likes.

const calls: string[] = [];

class AuditFirewall implements Firewall {
  readonly name = 'audit';
  readonly #inner = new NftablesFirewall();
  readonly capabilities: FirewallCapabilities = this.#inner.capabilities;

  async setupNetwork(scope: FirewallScope, network: FirewallNetwork): Promise<void> {
    calls.push(`setupNetwork ${network.bridge}`);
    await this.#inner.setupNetwork(scope, network);
  }
  async teardownNetwork(scope: FirewallScope, network: FirewallNetwork): Promise<void> {
    calls.push(`teardownNetwork ${network.bridge}`);
    await this.#inner.teardownNetwork(scope, network);
  }
  async setupEndpoint(scope: FirewallScope, endpoint: FirewallEndpoint): Promise<void> {
    calls.push(`setupEndpoint ${endpoint.endpointId}`);
    await this.#inner.setupEndpoint(scope, endpoint);
  }
  async teardownEndpoint(scope: FirewallScope, endpoint: FirewallEndpoint): Promise<void> {
    calls.push(`teardownEndpoint ${endpoint.endpointId}`);
    await this.#inner.teardownEndpoint(scope, endpoint);
  }
  async teardownOwner(scope: FirewallScope, owner: FirewallOwner): Promise<void> {
    calls.push(`teardownOwner ${owner.kind}:${owner.id}`);
    await this.#inner.teardownOwner(scope, owner);
  }
  owners(scope: FirewallScope): Promise<FirewallOwner[]> {
    return this.#inner.owners(scope);
  }
  check(scope: FirewallScope): Promise<FirewallBaseState> {
    return this.#inner.check(scope);
  }
  removeBase(scope: FirewallScope): Promise<boolean> {
    return this.#inner.removeBase(scope);
  }
}

/** What the backend's package would export. */
function registerAuditFirewall(container: DependencyContainer): void {
  registerFirewallBackend(container, { name: 'audit', description: 'nftables, every call audited', create: () => new AuditFirewall() });
}

testNetworkDriver({
  title: 'bridge driver conformance on a third-party firewall backend',
  register: (c) => registerBridgeDriver(c, { bip: '10.243.0.1/24' }),
  netmode: { firewalls: [registerAuditFirewall], firewall: 'audit' },
  mode: 'bridge',
  network: { driver: 'bridge', subnets: [{ subnet: '10.243.8.0/24' }] },
  connectOptions: {
    ports: [
      { hostPort: 18090, containerPort: 80 },
      { hostPort: 18091, containerPort: 53, protocol: 'udp' },
    ],
  },
  invalidOptions: [{ ip: '10.9.9.9' }, { ports: [{ hostPort: 70000, containerPort: 80 }] }],
  createsSandbox: true,
});

describe.skipIf(!integrationAvailable())('the third-party backend', () => {
  it('did the firewall work of every connect and disconnect above', () => {
    // Endpoint ids are the container's, '@' and a hash of the network's id.
    expect(calls).toContainEqual(expect.stringMatching(/^setupEndpoint conformance-a@[0-9a-f]{12}$/));
    expect(calls).toContainEqual(expect.stringMatching(/^teardownEndpoint conformance-a@[0-9a-f]{12}$/));
    expect(calls.filter((call) => call.startsWith('setupNetwork')).length).toBeGreaterThan(0);
  });
});
