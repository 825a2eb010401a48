import { ErrorCode } from '@netmode/core';
import { ApiError } from '../errors.js';

/** Docker's `filters` query parameter, parsed: each key with its values. */
export type Filters = ReadonlyMap<string, readonly string[]>;

/**
 * Parses Docker's `filters` parameter: a JSON object whose values are either
 * `{"VALUE": true}` maps (what current clients send) or arrays (the older
 * form), as dockerd accepts both. Keys not in `accepted` are refused with
 * dockerd's `invalid filter 'KEY'` (400).
 */
export function parseFilters(text: string | undefined, accepted: readonly string[]): Filters {
  const filters = new Map<string, string[]>();
  if (text === undefined || text === '') return filters;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw invalid(`invalid filter: ${JSON.stringify(text)} is not JSON`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw invalid('invalid filter: must be a JSON object');
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!accepted.includes(key)) throw invalid(`invalid filter '${key}'`);
    let values: unknown[];
    if (Array.isArray(value)) values = value;
    else if (value !== null && typeof value === 'object') {
      values = Object.entries(value as Record<string, unknown>)
        .filter(([, on]) => on === true)
        .map(([v]) => v);
    } else throw invalid(`invalid filter '${key}': values must be an array or a map of value to true`);
    if (!values.every((v): v is string => typeof v === 'string')) throw invalid(`invalid filter '${key}': values must be strings`);
    if (values.length > 0) filters.set(key, values);
  }
  return filters;
}

/**
 * Whether `subject` passes the filter `key`: true when the filter is absent,
 * otherwise when `test` holds for one of its values (values of one key are
 * alternatives, keys are all required, as in dockerd).
 */
export function passes(filters: Filters, key: string, test: (value: string) => boolean): boolean {
  const values = filters.get(key);
  return values === undefined || values.some(test);
}

/**
 * Docker's `label` filter: `KEY` matches a label of that key, `KEY=VALUE` one
 * with that value.
 */
export function labelMatches(labels: Readonly<Record<string, string>>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, filter);
  const key = filter.slice(0, eq);
  return Object.hasOwn(labels, key) && labels[key] === filter.slice(eq + 1);
}

function invalid(message: string): ApiError {
  return new ApiError(400, ErrorCode.INVALID_CONFIG, message, { field: 'filters' });
}
