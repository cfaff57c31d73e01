import { PointClock } from './point-clock';

const WALL_MS = 1_700_000_000_000;
/** WALL_MS in nanoseconds. */
const WALL_NS = 1_700_000_000_000_000_000n;
const SECOND_NS = 1_000_000_000n;

/**
 * The stamp `micros` microseconds after WALL_MS: whole milliseconds in nanoseconds, then the
 * microsecond within the millisecond times 500 (receive stamps take 000000–499999), then the
 * process suffix.
 */
function at(micros: bigint, suffix: bigint): bigint {
  return WALL_NS + (micros / 1000n) * 1_000_000n + (micros % 1000n) * 500n + suffix;
}

/** Hand-driven clocks: the test decides what the wall and monotonic clocks read. */
function fakeClocks(wallStart = WALL_MS) {
  const clocks = {
    wall: wallStart,
    mono: 5n * SECOND_NS,
    wallReads: 0,
    wallMillis: () => {
      clocks.wallReads += 1;
      return clocks.wall;
    },
    monoNanos: () => clocks.mono,
  };
  return clocks;
}

function expectStrictlyIncreasing(stamps: bigint[]): void {
  for (let i = 1; i < stamps.length; i += 1) {
    if (stamps[i]! <= stamps[i - 1]!) {
      throw new Error(`stamp ${i} (${stamps[i]}) is not above stamp ${i - 1} (${stamps[i - 1]})`);
    }
  }
}

describe(PointClock.name, () => {
  it('stamps the wall clock in nanoseconds, the process suffix in the lowest digits', () => {
    const clocks = fakeClocks();
    const clock = new PointClock(417n, clocks.wallMillis, clocks.monoNanos);
    expect(clock.next()).toBe(1_700_000_000_000_000_417n);
  });

  it('advances with the monotonic clock at microsecond resolution', () => {
    const clocks = fakeClocks();
    const clock = new PointClock(3n, clocks.wallMillis, clocks.monoNanos);
    clocks.mono += 2_500_750n; // 2.50075 ms: the sub-microsecond part is dropped
    expect(clock.next()).toBe(WALL_NS + 2_000_000n + 250_000n + 3n);
  });

  it('is strictly increasing for many calls while both clocks stand still', () => {
    const clocks = fakeClocks();
    const clock = new PointClock(499n, clocks.wallMillis, clocks.monoNanos);
    const stamps = Array.from({ length: 10_000 }, () => clock.next());
    expectStrictlyIncreasing(stamps);
    expect(new Set(stamps).size).toBe(10_000);
    // One microsecond apart (500 ns of the lower half), each ending in the suffix.
    expect(stamps[0]).toBe(WALL_NS + 499n);
    expect(stamps[1]).toBe(WALL_NS + 500n + 499n);
    expect(stamps[9_999]).toBe(WALL_NS + 9_000_000n + 499_500n + 499n);
    expect(stamps.every((stamp) => stamp % 500n === 499n)).toBe(true);
    // Never in the upper half of a millisecond, which belongs to events with their own time.
    expect(stamps.every((stamp) => stamp % 1_000_000n < 500_000n)).toBe(true);
  });

  it('keeps the suffix when the monotonic clock moves by less than a microsecond', () => {
    const clocks = fakeClocks();
    const clock = new PointClock(0n, clocks.wallMillis, clocks.monoNanos);
    const first = clock.next();
    clocks.mono += 400n;
    const second = clock.next();
    expect(second - first).toBe(500n);
    expect(second % 500n).toBe(0n);
  });

  it('draws a suffix below 500 when none is given', () => {
    const suffixes = Array.from({ length: 50 }, () => new PointClock().processSuffix);
    for (const suffix of suffixes) {
      expect(suffix).toBeGreaterThanOrEqual(0n);
      expect(suffix).toBeLessThan(500n);
    }
    expect(new Set(suffixes).size).toBeGreaterThan(1);
  });

  it('does not read the wall clock again within 60 s of monotonic time', () => {
    const clocks = fakeClocks();
    const clock = new PointClock(1n, clocks.wallMillis, clocks.monoNanos);
    clocks.wall += 5_000; // ignored until the next anchor
    clocks.mono += 60n * SECOND_NS;
    expect(clock.next()).toBe(at(60_000_000n, 1n));
    expect(clocks.wallReads).toBe(1);
  });

  it('re-anchors on the wall clock after more than 60 s of monotonic time', () => {
    const clocks = fakeClocks();
    const clock = new PointClock(1n, clocks.wallMillis, clocks.monoNanos);
    clock.next();
    // NTP moved the wall clock 4 s ahead of the monotonic clock in the meantime.
    clocks.mono += 61n * SECOND_NS;
    clocks.wall += 65_000;
    expect(clock.next()).toBe(at(65_000_000n, 1n));
    expect(clocks.wallReads).toBe(2);
    // And it follows the monotonic clock from the new anchor.
    clocks.mono += 1_000_000n;
    expect(clock.next()).toBe(at(65_001_000n, 1n));
  });

  it('stays strictly increasing when the wall clock steps back at a re-anchor', () => {
    const clocks = fakeClocks();
    const clock = new PointClock(42n, clocks.wallMillis, clocks.monoNanos);
    const stamps = [clock.next()];
    clocks.mono += 61n * SECOND_NS;
    stamps.push(clock.next());
    // The wall clock is stepped back 10 minutes; the next anchor sees it.
    clocks.wall -= 600_000;
    clocks.mono += 61n * SECOND_NS;
    for (let i = 0; i < 100; i += 1) {
      stamps.push(clock.next());
      clocks.mono += 1000n;
    }
    expectStrictlyIncreasing(stamps);
    expect(clocks.wallReads).toBe(3);
    expect(stamps.every((stamp) => stamp % 500n === 42n)).toBe(true);
  });

  it('is close to Date.now() in nanoseconds with the real clocks', () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    const clock = new PointClock();
    const stamps = [clock.next(), clock.next(), clock.next()];
    const after = BigInt(Date.now()) * 1_000_000n;
    expectStrictlyIncreasing(stamps);
    for (const stamp of stamps) {
      expect(stamp).toBeGreaterThanOrEqual(before);
      // Date.now() truncates to the millisecond; allow that and a little scheduling slack.
      expect(stamp).toBeLessThanOrEqual(after + 5_000_000n);
    }
  });
});
