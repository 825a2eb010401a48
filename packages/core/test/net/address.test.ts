import { describe, expect, it } from 'vitest';
import { ErrorCode, NetModeError } from '../../src/errors.js';
import { macFromIpv4 } from '../../src/net/names.js';
import {
  addressToBigInt,
  bigIntToAddress,
  cidrContains,
  cidrContainsCidr,
  cidrsOverlap,
  firstAddress,
  formatCidr,
  lastAddress,
  parseAddress,
  parseCidr,
  parseNetwork,
  toCidr,
} from '../../src/net/address.js';

function invalid(fn: () => unknown): NetModeError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(NetModeError);
    expect((error as NetModeError).code).toBe(ErrorCode.INVALID_CONFIG);
    return error as NetModeError;
  }
  throw new Error('expected ERR_INVALID_CONFIG, nothing was thrown');
}

describe('parseAddress', () => {
  it.each([
    ['10.0.0.1', 4, '10.0.0.1', 0x0a000001n],
    ['0.0.0.0', 4, '0.0.0.0', 0n],
    ['255.255.255.255', 4, '255.255.255.255', 0xffffffffn],
    ['FD00:0:0:0:0:0:0:1', 6, 'fd00::1', (0xfd00n << 112n) | 1n],
    ['2001:db8:0:0:1:0:0:1', 6, '2001:db8::1:0:0:1', 0x20010db8000000000001000000000001n],
    ['::', 6, '::', 0n],
    ['::1', 6, '::1', 1n],
    ['fe80::0001', 6, 'fe80::1', (0xfe80n << 112n) | 1n],
  ])('parses %j as IPv%i %j', (text, family, canonical, value) => {
    expect(parseAddress(text)).toEqual({ family, text: canonical, value });
  });

  it.each([
    ['10.0.1.300', 'valid IP address'],
    ['1.2.3', 'valid IP address'],
    ['1.2.3.4.5', 'valid IP address'],
    ['010.0.0.1', 'leading zeros'],
    ['0x0a.0.0.1', 'valid IP address'],
    ['4294967295', 'valid IP address'],
    ['localhost', 'valid IP address'],
    ['cafe', 'valid IP address'],
    ['example.com', 'valid IP address'],
    ['', 'valid IP address'],
    [' 10.0.0.1', 'valid IP address'],
    ['10.0.0.1 ', 'valid IP address'],
    ['10.0.0.1\n', 'valid IP address'],
    ['10.0.0.1/32', 'valid IP address'],
    ['fe80::1%eth0', 'zone id'],
    ['::ffff:1.2.3.4', 'dotted IPv4'],
    ['::1.2.3.4', 'dotted IPv4'],
    ['::ffff:a00:1', 'IPv4 address 10.0.0.1'],
    ['1::2::3', 'valid IPv6 address'],
    ['00001::', 'valid IPv6 address'],
    ['1:2:3:4:5:6:7:8:9', 'valid IPv6 address'],
    [' fd00::1', 'valid IPv6 address'],
    ['fd00::1\n', 'valid IPv6 address'],
    ['fd00::g', 'valid IPv6 address'],
  ])('rejects %j', (text, words) => {
    const error = invalid(() => parseAddress(text, 'ip'));
    expect(error.message).toMatch(/^ip: /);
    expect(error.message).toContain(words);
    expect(error.context).toMatchObject({ field: 'ip' });
  });

  it('rejects a value that is not a string', () => {
    invalid(() => parseAddress(167772161 as unknown as string));
  });
});

describe('parseCidr and parseNetwork', () => {
  it('keeps the address and computes the network', () => {
    const cidr = parseCidr('172.17.0.1/16');
    expect(cidr.address.text).toBe('172.17.0.1');
    expect(cidr.prefixLength).toBe(16);
    expect(cidr.size).toBe(65536n);
    expect(formatCidr(cidr)).toBe('172.17.0.0/16');
    expect(bigIntToAddress(firstAddress(cidr), 4)).toBe('172.17.0.0');
    expect(bigIntToAddress(lastAddress(cidr), 4)).toBe('172.17.255.255');
  });

  it('canonicalises IPv6 networks (RFC 5952)', () => {
    expect(formatCidr(parseNetwork('FD00:0001:0000:0000::/64'))).toBe('fd00:1::/64');
    expect(formatCidr(parseNetwork('::/0'))).toBe('::/0');
    expect(formatCidr(parseNetwork('2001:db8::1/128'))).toBe('2001:db8::1/128');
    expect(parseNetwork('fd00::/64').size).toBe(1n << 64n);
  });

  it('accepts the extreme prefix lengths', () => {
    expect(parseNetwork('0.0.0.0/0').size).toBe(1n << 32n);
    expect(parseNetwork('10.0.0.1/32').size).toBe(1n);
  });

  it('names the network form when host bits are set', () => {
    expect(invalid(() => parseNetwork('172.17.0.1/16')).message).toContain('the network is 172.17.0.0/16');
    expect(invalid(() => parseNetwork('fd00::1/64')).message).toContain('the network is fd00::/64');
  });

  it.each([
    '10.0.1.300/24',
    '1.2.3.4/33',
    '1.2.3.4/-1',
    '1.2.3.4/08',
    '1.2.3.4/8.0',
    '1.2.3.4/',
    '1.2.3.4',
    '1.2.3.4/24/24',
    'fd00::/129',
    'fd00::/ 64',
    'fd00::/64 ',
    ' fd00::/64',
    '10.0.0.0/8\n',
    'fe80::%eth0/64',
    '::ffff:0:0/96',
    '::ffff:10.0.0.0/104',
    'localhost/8',
    '010.0.0.0/8',
  ])('rejects %j', (text) => {
    const error = invalid(() => parseCidr(text, 'subnet'));
    expect(error.message).toMatch(/^subnet: /);
  });

  it('explains prefix lengths by family', () => {
    expect(invalid(() => parseCidr('1.2.3.4/33')).message).toContain('0 to 32 for IPv4');
    expect(invalid(() => parseCidr('fd00::/129')).message).toContain('0 to 128 for IPv6');
  });
});

describe('arithmetic', () => {
  it('round-trips addresses through bigint', () => {
    for (const text of ['0.0.0.0', '10.1.2.3', '255.255.255.255', '::', '::1', 'fd00:1::abcd', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']) {
      const parsed = parseAddress(text);
      expect(addressToBigInt(text)).toBe(parsed.value);
      expect(bigIntToAddress(parsed.value, parsed.family)).toBe(text);
    }
  });

  it('refuses values outside the family', () => {
    invalid(() => bigIntToAddress(1n << 32n, 4));
    invalid(() => bigIntToAddress(-1n, 6));
    expect(bigIntToAddress(1n << 32n, 6)).toBe('::1:0:0');
  });

  it('builds CIDRs from numbers', () => {
    expect(formatCidr(toCidr(4, 0xc0a81000n, 20))).toBe('192.168.16.0/20');
    invalid(() => toCidr(4, 0xc0a81001n, 20));
  });

  it('tests containment and overlap, never across families', () => {
    const net = parseNetwork('10.0.0.0/24');
    expect(cidrContains(net, parseAddress('10.0.0.0'))).toBe(true);
    expect(cidrContains(net, parseAddress('10.0.0.255'))).toBe(true);
    expect(cidrContains(net, parseAddress('10.0.1.0'))).toBe(false);
    expect(cidrContains(net, parseAddress('9.255.255.255'))).toBe(false);
    expect(cidrContains(parseNetwork('::/0'), parseAddress('10.0.0.1'))).toBe(false);

    expect(cidrContainsCidr(net, parseNetwork('10.0.0.128/25'))).toBe(true);
    expect(cidrContainsCidr(net, parseNetwork('10.0.0.0/23'))).toBe(false);

    expect(cidrsOverlap(net, parseNetwork('10.0.0.0/8'))).toBe(true);
    expect(cidrsOverlap(net, parseNetwork('10.0.0.255/32'))).toBe(true);
    expect(cidrsOverlap(net, parseNetwork('10.0.1.0/24'))).toBe(false);
    expect(cidrsOverlap(parseNetwork('0.0.0.0/0'), parseNetwork('::/0'))).toBe(false);
  });
});

describe('macFromIpv4', () => {
  it("gives Docker's pre-28 MAC for an IPv4 address, and refuses anything else", () => {
    expect(macFromIpv4('172.17.0.2')).toBe('02:42:ac:11:00:02');
    expect(macFromIpv4('10.88.255.254')).toBe('02:42:0a:58:ff:fe');
    expect(() => macFromIpv4('fd00::2')).toThrow(/not an IPv4 address/);
    expect(() => macFromIpv4('10.0.0.256')).toThrow();
  });
});
