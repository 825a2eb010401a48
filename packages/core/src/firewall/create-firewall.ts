import { invalidConfig } from '../errors.js';
import { NoFirewall, type Firewall, type FirewallKind } from './firewall.js';
import { IptablesFirewall } from './iptables/iptables-firewall.js';
import { NftablesFirewall } from './nftables/nftables-firewall.js';

/** The firewall backend of the given kind. */
export function createFirewall(kind: FirewallKind): Firewall {
  switch (kind) {
    case 'nftables':
      return new NftablesFirewall();
    case 'iptables':
      return new IptablesFirewall();
    case 'none':
      return new NoFirewall();
    default:
      throw invalidConfig('firewall', `${JSON.stringify(kind)} must be nftables, iptables or none`);
  }
}
