import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ERROR_HINTS,
  ErrorCode,
  NetModeError,
  TeardownError,
  asNetModeError,
  invalidConfig,
  isNetModeError,
  isToolFailure,
} from '../src/errors.js';
import { classifyToolFailure } from '../src/exec/tool-failure.js';

describe('error codes', () => {
  it('are stable strings starting with ERR_, each with a hint', () => {
    const codes = Object.values(ErrorCode);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) {
      expect(code).toMatch(/^ERR_[A-Z_]+$/);
      expect(ERROR_HINTS[code].length).toBeGreaterThan(10);
    }
    // Renaming a code breaks every caller that matches on it.
    expect(ErrorCode.INVALID_CONFIG).toBe('ERR_INVALID_CONFIG');
    expect(ErrorCode.ADDRESS_EXHAUSTED).toBe('ERR_ADDRESS_EXHAUSTED');
    expect(ErrorCode.PORT_ALLOCATED).toBe('ERR_PORT_ALLOCATED');
  });

  it('are each documented in docs/errors.md', () => {
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    for (const code of Object.values(ErrorCode)) expect(doc, code).toContain(`## ${code}`);
  });
});

describe('NetModeError', () => {
  it('keeps code, cause and context, and outer context never overwrites inner', () => {
    const cause = new Error('exit 2');
    const error = new NetModeError(ErrorCode.COMMAND_FAILED, 'ip failed', { cause, context: { netns: 'inner' } });
    error.withContext({ netns: 'outer', containerId: 'web' });
    expect(error.code).toBe('ERR_COMMAND_FAILED');
    expect(error.cause).toBe(cause);
    expect(error.context).toEqual({ netns: 'inner', containerId: 'web' });
    expect(error.hint).toBe(ERROR_HINTS.ERR_COMMAND_FAILED);
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({ code: 'ERR_COMMAND_FAILED', message: 'ip failed' });
    expect(error).toBeInstanceOf(Error);
  });

  it('isNetModeError checks the shape and, when given, the code', () => {
    const error = invalidConfig('mtu', 'must be 68 to 65535');
    expect(error.message).toBe('mtu: must be 68 to 65535');
    expect(isNetModeError(error)).toBe(true);
    expect(isNetModeError(error, ErrorCode.INVALID_CONFIG)).toBe(true);
    expect(isNetModeError(error, ErrorCode.PERMISSION)).toBe(false);
    expect(isNetModeError(new Error('plain'))).toBe(false);
    expect(isNetModeError({ code: 'ERR_INVALID_CONFIG' })).toBe(false);
    // Node's own errors carry ERR_* codes too; only netmode's are branded.
    const nodeError = Object.assign(new TypeError('The "path" argument must be of type string'), {
      code: 'ERR_INVALID_ARG_TYPE',
      context: {},
    });
    expect(isNetModeError(nodeError)).toBe(false);
  });

  it('records a rolled-back setup as a typed field, and in its context for logs', () => {
    const error = invalidConfig('ip', 'bad');
    expect(error.rolledBack).toBeUndefined();
    expect(error.markRolledBack(false, { rollbackFailed: ['link v1: busy'] })).toBe(error);
    expect(error.rolledBack).toBe(false);
    expect(error.context).toMatchObject({ rolledBack: false, rollbackFailed: ['link v1: busy'] });
  });

  it.each([
    ['RTNETLINK answers: File exists', 'exists'],
    ['Error: Could not process rule: File exists', 'exists'],
    ['Device "nm-v1" does not exist.', 'missing'],
    ['Cannot find device "nm-v1"', 'missing'],
    ['Error: Could not process rule: No such file or directory\ndelete table inet netmode', 'missing'],
    ['conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.', 'missing'],
    ['RTNETLINK answers: Device or resource busy', 'busy'],
    ['RTNETLINK answers: Address already in use', 'busy'],
    ['Error: interval overlaps with an existing one', 'overlap'],
    ['Error: syntax error, unexpected newline', 'unknown'],
  ] as const)('reads a tool failure once: %j is %s', (stderr, kind) => {
    expect(classifyToolFailure(stderr)).toBe(kind);
    const error = new NetModeError(ErrorCode.COMMAND_FAILED, 'x', { failure: classifyToolFailure(stderr) });
    expect(isToolFailure(error, kind)).toBe(true);
  });

  it('asNetModeError wraps foreign errors as ERR_DRIVER_FAILED and passes ours through', () => {
    const ours = invalidConfig('ip', 'bad');
    expect(asNetModeError(ours, 'x')).toBe(ours);
    const wrapped = asNetModeError(new TypeError('boom'), 'attaching web');
    expect(wrapped.code).toBe(ErrorCode.DRIVER_FAILED);
    expect(wrapped.message).toBe('attaching web: boom');
    expect(wrapped.cause).toBeInstanceOf(TypeError);
  });

  it('TeardownError lists every leftover', () => {
    const error = new TeardownError('detaching web', [
      { kind: 'netns', name: 'nm-1', error: new Error('busy') },
      { kind: 'link', name: 'nm-2', error: 'gone wrong' },
    ]);
    expect(error.code).toBe(ErrorCode.TEARDOWN_INCOMPLETE);
    expect(error.message).toBe('detaching web: could not remove netns nm-1 (busy); link nm-2 (gone wrong)');
    expect(error.leftovers).toHaveLength(2);
  });
});
