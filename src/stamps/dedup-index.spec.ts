import { DedupIndex } from './dedup-index';

const HOUR_MS = 3_600_000;
const T0 = 1_796_282_700_000;

describe(DedupIndex.name, () => {
  it('answers the time an id was given, within the window', () => {
    const index = new DedupIndex(1000, 24 * HOUR_MS);
    index.add(7929297801672961, 123n, T0);
    expect(index.get(7929297801672961, T0 + 24 * HOUR_MS)).toBe(123n);
    expect(index.get(8684336938537663, T0)).toBeUndefined();
  });

  it('forgets an id older than the window', () => {
    const index = new DedupIndex(1000, HOUR_MS);
    index.add(1, 10n, T0);
    expect(index.get(1, T0 + HOUR_MS + 1)).toBeUndefined();
    index.add(2, 20n, T0 + HOUR_MS + 1);
    expect(index.size).toBe(1);
  });

  it('forgets the oldest id first when full', () => {
    const index = new DedupIndex(3, HOUR_MS);
    for (const hash of [11, 12, 13, 14]) index.add(hash, BigInt(hash), T0);
    expect([11, 12, 13, 14].map((hash) => index.get(hash, T0))).toEqual([undefined, 12n, 13n, 14n]);
    expect([...index.entries()].map(([hash]) => hash)).toEqual([12, 13, 14]);
  });

  it('lists an id added again once, with its newer time, in the place of its newer copy', () => {
    const index = new DedupIndex(5, HOUR_MS);
    index.add(1, 11n, T0);
    index.add(3, 30n, T0 + 1);
    index.add(1, 12n, T0 + 2);

    expect([...index.entries()]).toEqual([
      [3, 30n, T0 + 1],
      [1, 12n, T0 + 2],
    ]);
    expect(index.get(1, T0 + 2)).toBe(12n);
  });

  it('keeps every id findable while ids sharing a home slot come and go', () => {
    // Hashes 1024 apart share their home slot in a table of 2048: long probe runs, removals
    // from their middle. A Map of the last 600 ids added says what must be found.
    const index = new DedupIndex(600, HOUR_MS);
    const expected = new Map<number, bigint>();
    const order: number[] = [];
    const forgotten = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const hash = (i % 7) + 1024 * ((i * 37) % 101) + 2 ** 40 * (i % 3);
      if (expected.has(hash)) continue;
      index.add(hash, BigInt(i), T0);
      expected.set(hash, BigInt(i));
      forgotten.delete(hash);
      order.push(hash);
      if (order.length > 600) {
        const evicted = order.shift()!;
        expected.delete(evicted);
        forgotten.add(evicted);
      }
    }
    for (const [hash, stamp] of expected) expect(index.get(hash, T0)).toBe(stamp);
    expect(forgotten.size).toBeGreaterThan(1000);
    for (const hash of forgotten) expect(index.get(hash, T0)).toBeUndefined();
    expect(index.size).toBe(expected.size);
  });
});
