/** Milliseconds from a monotonic origin. */
export type Clock = () => number;

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, by the clock. */
  at: number;
}

/** Buckets kept at most; the least recently used goes first when a new one would exceed it. */
const MAX_BUCKETS = 10_000;

/**
 * A token bucket per key: `burst` requests at once, then `perSecond` on average. Pure and
 * synchronous; the clock is injected so that tests control time.
 */
export class RateLimiter {
  /** Least recently used first (a Map keeps insertion order; a use re-inserts). */
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly clock: Clock = () => performance.now(),
    private readonly maxBuckets = MAX_BUCKETS,
  ) {
    if (!(perSecond > 0) || !(burst >= 1)) {
      throw new RangeError('perSecond must be above 0 and burst at least 1');
    }
  }

  /**
   * Takes one token from `key`'s bucket: 0 when there was one, else the whole seconds (at
   * least 1) until one will have refilled.
   */
  take(key: string): number {
    const now = this.clock();
    const bucket = this.buckets.get(key);
    let tokens = this.burst;
    if (bucket !== undefined) {
      const refilled = (Math.max(0, now - bucket.at) / 1000) * this.perSecond;
      tokens = Math.min(this.burst, bucket.tokens + refilled);
      this.buckets.delete(key);
    } else if (this.buckets.size >= this.maxBuckets) {
      // The least recently used bucket has had the longest to refill: dropping it (a full bucket
      // is the same as none) costs its owner at most what idling would have given back.
      const oldest = this.buckets.keys().next();
      if (oldest.done !== true) this.buckets.delete(oldest.value);
    }
    const allowed = tokens >= 1;
    this.buckets.set(key, { tokens: allowed ? tokens - 1 : tokens, at: now });
    return allowed ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.perSecond));
  }

  /** Buckets currently held (for tests and bounds). */
  get size(): number {
    return this.buckets.size;
  }
}
