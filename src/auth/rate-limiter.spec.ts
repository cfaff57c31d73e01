import { RateLimiter } from './rate-limiter';

/** A clock that moves only when told to. */
class FakeClock {
  ms = 1_000_000;

  readonly now = () => this.ms;

  advance(ms: number): void {
    this.ms += ms;
  }
}

describe(RateLimiter.name, () => {
  let clock: FakeClock;

  beforeEach(() => {
    clock = new FakeClock();
  });

  /** What `count` immediate takes answer. */
  function takes(limiter: RateLimiter, key: string, count: number): number[] {
    return Array.from({ length: count }, () => limiter.take(key));
  }

  it('lets a burst through at once, then answers the seconds until a token refills', () => {
    const limiter = new RateLimiter(2, 2, clock.now);

    expect(takes(limiter, 'u', 3)).toEqual([0, 0, 1]);
  });

  it('refills at the rate', () => {
    const limiter = new RateLimiter(2, 2, clock.now);
    takes(limiter, 'u', 2);

    clock.advance(499);
    expect(limiter.take('u')).toBe(1);
    clock.advance(1);
    expect(limiter.take('u')).toBe(0);
    expect(limiter.take('u')).toBe(1);
  });

  it('never holds more than the burst, however long the key was idle', () => {
    const limiter = new RateLimiter(2, 3, clock.now);
    limiter.take('u');

    clock.advance(3_600_000);

    expect(takes(limiter, 'u', 4)).toEqual([0, 0, 0, 1]);
  });

  it('rounds the wait up to whole seconds', () => {
    const limiter = new RateLimiter(0.25, 1, clock.now);
    expect(limiter.take('u')).toBe(0);

    expect(limiter.take('u')).toBe(4);
    clock.advance(1000);
    expect(limiter.take('u')).toBe(3);
    clock.advance(2500);
    expect(limiter.take('u')).toBe(1);
    clock.advance(500);
    expect(limiter.take('u')).toBe(0);
  });

  it('answers at least 1 second while a token is short, however little is missing', () => {
    const limiter = new RateLimiter(1, 1, clock.now);
    limiter.take('u');

    clock.advance(999.999);

    expect(limiter.take('u')).toBe(1);
  });

  it('takes nothing from a refused request', () => {
    const limiter = new RateLimiter(1, 1, clock.now);
    limiter.take('u');
    takes(limiter, 'u', 10);

    clock.advance(1000);

    expect(limiter.take('u')).toBe(0);
  });

  it('keeps a bucket per key', () => {
    const limiter = new RateLimiter(1, 1, clock.now);

    expect([limiter.take('a'), limiter.take('b'), limiter.take('a')]).toEqual([0, 0, 1]);
  });

  it('does not refill when the clock goes backwards', () => {
    const limiter = new RateLimiter(1, 1, clock.now);
    limiter.take('u');

    clock.advance(-5000);

    expect(limiter.take('u')).toBe(1);
  });

  it('holds at most maxBuckets, dropping the least recently used', () => {
    const limiter = new RateLimiter(1, 1, clock.now, 3);
    for (const key of ['a', 'b', 'c']) limiter.take(key);
    // `a` is used again (refused), so `b` is now the least recently used.
    expect(limiter.take('a')).toBe(1);

    expect(limiter.take('d')).toBe(0);

    expect(limiter.size).toBe(3);
    expect(limiter.take('a')).toBe(1);
    expect(limiter.take('c')).toBe(1);
    // `b` was dropped: it starts again with a full bucket.
    expect(limiter.take('b')).toBe(0);
    expect(limiter.size).toBe(3);
  });

  it.each([
    [0, 1],
    [-1, 1],
    [Number.NaN, 1],
    [1, 0.5],
  ])('refuses perSecond %p with burst %p', (perSecond, burst) => {
    expect(() => new RateLimiter(perSecond, burst, clock.now)).toThrow(RangeError);
  });
});
