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

  it('spreads evenly over the whole range (full jitter, not "the ceiling plus a little")', () => {
    // Draws spaced evenly over [0, 1): a quarter of them must land in each quarter of [0, 1600).
    const draws = Array.from({ length: 2000 }, (_, k) => k / 2000);
    const delays = draws.map((draw) => backoffDelay(4, options, () => draw));
    const quarters = [0, 1, 2, 3].map(
      (q) => delays.filter((delay) => delay >= q * 400 && delay < (q + 1) * 400).length,
    );
    expect(quarters).toEqual([500, 500, 500, 500]);
  });

  it('draws from Math.random unless told otherwise', () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    try {
      expect(backoffDelay(4, options)).toBe(800);
      expect(retryDelay(0, 2000, options)).toBe(2500);
    } finally {
      jest.restoreAllMocks();
    }
  });
});

describe(retryDelay.name, () => {
  it('without Retry-After is the jittered backoff', () => {
    expect(retryDelay(2, undefined, options, () => 0.5)).toBe(200);
  });

  it('with Retry-After waits at least that long, plus up to half as long again of jitter', () => {
    expect(retryDelay(0, 3000, options, () => 0)).toBe(3000);
    expect(retryDelay(7, 3000, options, () => TOP)).toBe(4499);
  });

  it('spreads a short Retry-After over at least retryBaseMs', () => {
    expect(retryDelay(0, 0, options, () => TOP)).toBe(99);
    expect(retryDelay(0, 100, options, () => TOP)).toBe(199);
  });

  it('caps an absurd Retry-After at MAX_RETRY_AFTER_MS, jitter included', () => {
    expect(retryDelay(0, 86_400_000, options, () => 0)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryDelay(0, 86_400_000, options, () => TOP)).toBe(
      MAX_RETRY_AFTER_MS + Math.floor(TOP * (MAX_RETRY_AFTER_MS / 2)),
    );
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
