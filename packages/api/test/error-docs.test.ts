import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ApiErrorCode } from '../src/index.js';

describe("the API server's own error codes", () => {
  it('are each documented in docs/errors.md', () => {
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    for (const code of Object.values(ApiErrorCode)) expect(doc, code).toContain(`## ${code}`);
  });
});
