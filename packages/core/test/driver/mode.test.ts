import { describe, expect, it } from 'vitest';
import { formatMode, parseMode } from '../../src/driver/mode.js';
import { ErrorCode, isNetModeError } from '../../src/errors.js';

describe('parseMode', () => {
  it.each([
    ['bridge', { kind: 'network', network: 'bridge' }],
    ['host', { kind: 'network', network: 'host' }],
    ['none', { kind: 'network', network: 'none' }],
    ['my-net.1_a', { kind: 'network', network: 'my-net.1_a' }],
    ['container:web', { kind: 'container', target: 'web' }],
    ['container:3f2a9c', { kind: 'container', target: '3f2a9c' }],
  ])('understands %s', (mode, parsed) => {
    expect(parseMode(mode)).toEqual(parsed);
    expect(formatMode(parseMode(mode))).toBe(mode);
  });

  it.each([
    [''],
    ['container:'],
    ['container:a b'],
    ['container:../x'],
    ['br idge'],
    ['bridge\n'],
    ['-bridge'],
    ['a/b'],
    ['x'.repeat(129)],
    ['net;rm -rf /'],
    ['"quoted"'],
  ])('refuses %j with ERR_INVALID_CONFIG', (mode) => {
    let caught: unknown;
    try {
      parseMode(mode);
    } catch (error) {
      caught = error;
    }
    expect(isNetModeError(caught, ErrorCode.INVALID_CONFIG)).toBe(true);
    expect((caught as Error).message).toMatch(/mode/);
  });
});
