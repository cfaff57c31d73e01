import {
  backoffDelay,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  retryDelay,
  type BackoffOptions,
} from './backoff';

const options: BackoffOptions = { retryBaseMs: 100, retryMaxMs: 5000 };
/** Just below 1: the top of Math.random()'s range. */
const TOP = 1 - Number.EPSILON;

describe(backoffDelay.name, () => {
  it('draws from [0, base × 2^attempt): 0 at the bottom of the range, just under the ceiling at the top', () => {
    const ceilings = [0, 1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, options, () => TOP));
    expect(ceilings).toEqual([99, 199, 399, 799, 1599, 3199]);
    expect([0, 3, 9].map((attempt) => backoffDelay(attempt, options, () => 0))).toEqual([0, 0, 0]);
  });

  it('never exceeds retryMaxMs, however many attempts (no overflow to Infinity or NaN)', () => {
    for (const attempt of [6, 10, 60, 1000, 1e9]) {
      expect(backoffDelay(attempt, options, () => TOP)).toBe(4999);
    }
  });

  it('with Math.random, stays inside the bounds and spreads over the range (full jitter)', () => {
    const delays = Array.from({ length: 2000 }, () => backoffDelay(4, options));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(1600);
    // Full jitter, not "ceiling plus a little": about a quarter of draws fall in each quarter.
    const lowQuarter = delays.filter((delay) => delay < 400).length;
    expect(lowQuarter).toBeGreaterThan(350);
    expect(lowQuarter).toBeLessThan(650);
  });
});

describe(retryDelay.name, () => {
  it('without Retry-After is the jittered backoff', () => {
    expect(retryDelay(2, undefined, options, () => 0.5)).toBe(200);
  });

  it('with Retry-After waits at least that long, plus up to retryBaseMs of jitter', () => {
    expect(retryDelay(0, 3000, options, () => 0)).toBe(3000);
    expect(retryDelay(7, 3000, options, () => TOP)).toBe(3099);
  });

  it('caps an absurd Retry-After at MAX_RETRY_AFTER_MS', () => {
    expect(retryDelay(0, 86_400_000, options, () => 0)).toBe(MAX_RETRY_AFTER_MS);
  });
});

describe(parseRetryAfter.name, () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it('reads delay-seconds, as the service sends them', () => {
    expect(parseRetryAfter('5', now)).toBe(5000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('120', now)).toBe(120_000);
  });

  it('reads an HTTP date as the time left until then, never negative', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
  });

  it('ignores what is absent or unreadable', () => {
    for (const value of [null, undefined, '', '-5', '1.5', 'soon', '5s']) {
      expect(parseRetryAfter(value, now)).toBeUndefined();
    }
  });
});
