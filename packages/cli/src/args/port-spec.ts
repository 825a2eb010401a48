import { isIPv4, isIPv6 } from 'node:net';
import type { PortMapping, PortProtocol } from '@netmode/core';
import { usage, type CliError } from '../cli-error.js';

/**
 * Parses one `-p` value in Docker's syntax:
 *
 * - `containerPort[-end][/proto]`: published on an ephemeral host port;
 * - `hostPort[-end]:containerPort[-end][/proto]`;
 * - `hostIp:hostPort[-end]:containerPort[-end][/proto]`, `hostIp::containerPort`
 *   (ephemeral port on one address), IPv6 host addresses in brackets.
 *
 * `proto` is `tcp` (default) or `udp`. A host range needs a container range
 * of the same length. Throws a usage error that quotes the spec and says
 * what is wrong.
 */
export function parsePortSpec(spec: string): PortMapping {
  const fail = (why: string): CliError =>
    usage(`-p ${JSON.stringify(spec)}: ${why}; expected [hostIp:][hostPort[-end]:]containerPort[-end][/tcp|/udp]`);
  if (spec.length === 0) throw fail('is empty');
  if (/\s/.test(spec)) throw fail('contains white space');

  let rest = spec;
  let protocol: PortProtocol = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const proto = rest.slice(slash + 1);
    rest = rest.slice(0, slash);
    if (proto === 'tcp' || proto === 'udp') protocol = proto;
    else if (proto === 'sctp') throw fail('sctp is not supported (tcp or udp)');
    else throw fail(`unknown protocol ${JSON.stringify(proto)} (tcp or udp)`);
  }

  let hostIp: string | undefined;
  let hostPart: string | undefined;
  let containerPart: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw fail("an IPv6 address opened with '[' is not closed");
    hostIp = rest.slice(1, close);
    if (!isIPv6(hostIp)) throw fail(`${JSON.stringify(hostIp)} is not an IPv6 address`);
    const after = rest.slice(close + 1);
    if (!after.startsWith(':')) throw fail('the host address must be followed by :hostPort:containerPort');
    const parts = after.slice(1).split(':');
    if (parts.length !== 2) throw fail('after the host address come hostPort:containerPort (hostPort may be empty)');
    [hostPart, containerPart] = parts as [string, string];
  } else {
    const parts = rest.split(':');
    if (parts.length === 1) {
      containerPart = parts[0] as string;
    } else if (parts.length === 2) {
      [hostPart, containerPart] = parts as [string, string];
      if (hostPart === '') throw fail('the host port before the colon is empty');
    } else if (parts.length === 3) {
      [hostIp, hostPart, containerPart] = parts as [string, string, string];
      if (!isIPv4(hostIp)) {
        throw fail(
          `${JSON.stringify(hostIp)} is not an IPv4 address${hostIp === '' ? '' : ' (write IPv6 addresses in brackets: [::1]:8080:80)'}`,
        );
      }
    } else {
      throw fail('has too many colons (write IPv6 addresses in brackets: [::1]:8080:80)');
    }
  }

  const container = parseRange(containerPart, 'container port', fail);
  const host = hostPart === undefined || hostPart === '' ? undefined : parseRange(hostPart, 'host port', fail);
  if (host && host.count !== container.count) {
    if (container.count === 1) {
      throw fail(
        `a host port range (${hostPart}) needs a container port range of the same length; picking one port from a range is not supported`,
      );
    }
    throw fail(`the host range (${host.count} ports) and the container range (${container.count} ports) differ in length`);
  }
  return {
    ...(hostIp !== undefined && hostIp !== '0.0.0.0' ? { hostIp } : {}),
    ...(host ? { hostPort: host.start } : {}),
    containerPort: container.start,
    ...(container.count > 1 ? { count: container.count } : {}),
    protocol,
  };
}

function parseRange(text: string, what: string, fail: (why: string) => CliError): { start: number; count: number } {
  if (text === '') throw fail(`the ${what} is missing`);
  const match = /^([0-9]+)(?:-([0-9]+))?$/.exec(text);
  if (!match) throw fail(`${JSON.stringify(text)} is not a ${what} or range (like 80 or 8000-8010)`);
  const start = port(match[1] as string, what, fail);
  const end = match[2] === undefined ? start : port(match[2], what, fail);
  if (end < start) throw fail(`the ${what} range ${text} ends before it starts`);
  return { start, count: end - start + 1 };
}

function port(text: string, what: string, fail: (why: string) => CliError): number {
  if (text.length > 1 && text.startsWith('0')) throw fail(`${what} ${text} has a leading zero`);
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw fail(`${what} ${text} is outside 1-65535`);
  return value;
}

/** Docker's way of showing a published port: `0.0.0.0:8080->80/tcp`, `127.0.0.1:8000-8001->80-81/udp`. */
export function formatPort(mapping: PortMapping): string {
  const count = mapping.count ?? 1;
  const range = (start: number) => (count > 1 ? `${start}-${start + count - 1}` : `${start}`);
  const ip = mapping.hostIp ?? '0.0.0.0';
  const host = mapping.hostPort ? range(mapping.hostPort) : '?';
  return `${ip.includes(':') ? `[${ip}]` : ip}:${host}->${range(mapping.containerPort)}/${mapping.protocol ?? 'tcp'}`;
}
