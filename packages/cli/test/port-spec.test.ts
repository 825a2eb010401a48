import { describe, expect, it } from 'vitest';
import { formatPort, parsePortSpec } from '../src/args/port-spec.js';
import { CliError } from '../src/cli-error.js';

describe('parsePortSpec (Docker -p syntax)', () => {
  it.each([
    ['80', { containerPort: 80, protocol: 'tcp' }],
    ['80/udp', { containerPort: 80, protocol: 'udp' }],
    ['8080:80', { hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    ['8080:80/tcp', { hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    ['5353:53/udp', { hostPort: 5353, containerPort: 53, protocol: 'udp' }],
    ['127.0.0.1:8080:80', { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    ['127.0.0.1::80', { hostIp: '127.0.0.1', containerPort: 80, protocol: 'tcp' }],
    ['0.0.0.0:8080:80', { hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    ['8000-8002:80-82', { hostPort: 8000, containerPort: 80, count: 3, protocol: 'tcp' }],
    ['80-81', { containerPort: 80, count: 2, protocol: 'tcp' }],
    ['10.0.0.1:9000-9001:90-91/udp', { hostIp: '10.0.0.1', hostPort: 9000, containerPort: 90, count: 2, protocol: 'udp' }],
    ['[::1]:8080:80', { hostIp: '::1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    ['[fd00::1]::80', { hostIp: 'fd00::1', containerPort: 80, protocol: 'tcp' }],
    ['65535:1', { hostPort: 65535, containerPort: 1, protocol: 'tcp' }],
  ])('%s', (spec, expected) => {
    expect(parsePortSpec(spec)).toEqual(expected);
  });

  it.each([
    ['', 'is empty'],
    ['abc', 'is not a container port'],
    ['0', 'outside 1-65535'],
    ['65536', 'outside 1-65535'],
    ['080', 'leading zero'],
    ['+80', 'is not a container port'],
    ['80/sctp', 'sctp is not supported'],
    ['80/TCP', 'unknown protocol'],
    ['80/', 'unknown protocol'],
    [':80', 'host port before the colon is empty'],
    ['8080:', 'container port is missing'],
    ['1.2.3:8080:80', 'is not an IPv4 address'],
    ['::1:8080:80', 'too many colons'],
    ['fd00::1:80:80', 'too many colons'],
    ['[::1:8080:80', 'not closed'],
    ['[10.0.0.1]:8080:80', 'is not an IPv6 address'],
    ['[::1]8080:80', 'must be followed by'],
    ['82-80', 'ends before it starts'],
    ['8000-8010:80', 'needs a container port range of the same length'],
    ['8000-8001:80-82', 'differ in length'],
    ['8080:80-81', 'differ in length'],
    ['80 ', 'white space'],
    ['1:2:3:4', 'too many colons'],
  ])('refuses %j (%s)', (spec, why) => {
    let caught: unknown;
    try {
      parsePortSpec(spec);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CliError);
    expect((caught as CliError).code).toBe('ERR_USAGE');
    expect((caught as CliError).message).toContain(why);
    expect((caught as CliError).message).toContain(`-p ${JSON.stringify(spec)}`);
  });

  it('formats mappings as Docker shows them', () => {
    expect(formatPort({ hostPort: 8080, containerPort: 80, protocol: 'tcp' })).toBe('0.0.0.0:8080->80/tcp');
    expect(formatPort({ hostIp: '127.0.0.1', hostPort: 8000, containerPort: 80, count: 3, protocol: 'udp' })).toBe(
      '127.0.0.1:8000-8002->80-82/udp',
    );
    expect(formatPort({ hostIp: '::1', hostPort: 1, containerPort: 2 })).toBe('[::1]:1->2/tcp');
  });
});
