import { CLOCK_SKEW_MS, idTime } from './event-id-time';

/** 2026-11-30T16:00:00Z */
const NOW_MS = 1_796_054_400_000;

describe(idTime.name, () => {
  describe('server ids (entry_ + 16 hex of nanoseconds + 16 random hex)', () => {
    it.each<[string, string, bigint]>([
      // 0x17979cfe362a0000 = 1,700,000,000,000,000,000 ns = 2023-11-14T22:13:20Z
      ['a lower-case id', 'entry_17979cfe362a00000123456789abcdef', 1_700_000_000_000_000_000n],
      // 0x18ecddf604a2cd15 = 2026-11-30T16:00:00.123456789Z, a moment after NOW_MS
      ['an upper-case id', 'ENTRY_18ECDDF604A2CD15FFFFFFFFFFFFFFFF', 1_796_054_400_123_456_789n],
      ['a mixed-case prefix', 'Entry_17979cfe362a0000ffffffffffffffff', 1_700_000_000_000_000_000n],
      // 0x0d234ccf52430000 = 946,684,800,000,000,000 ns = 2000-01-01T00:00:00Z, the earliest taken
      [
        'the first moment of 2000',
        'entry_0d234ccf524300000000000000000000',
        946_684_800_000_000_000n,
      ],
      // 0x18ed2c8a8e960000 = NOW_MS + 1 day, in ns: the latest taken
      ['a day ahead of now', 'entry_18ed2c8a8e9600000000000000000000', 1_796_140_800_000_000_000n],
    ])('gives the exact time of %s', (_case, id, ns) => {
      expect(idTime(id, NOW_MS)).toEqual({ kind: 'exact', ns });
    });

    it.each<[string, string]>([
      // 0x2d1c0ae39a6a4c0e ≈ 3.25e18 ns, the year 2072: an original uuid4 id
      ['a time decades ahead (an original uuid4 id)', 'entry_2d1c0ae39a6a4c0e9f5b8f2a1b0c7d61'],
      ['a time before 2000', 'entry_0d234ccf5242ffff0000000000000000'],
      ['one nanosecond more than a day ahead', 'entry_18ed2c8a8e9600010000000000000000'],
      ['the largest 64-bit value', 'entry_ffffffffffffffff0000000000000000'],
      ['31 hex digits', 'entry_17979cfe362a00000123456789abcde'],
      ['33 hex digits', 'entry_17979cfe362a00000123456789abcdef0'],
      ['a letter that is not hex', 'entry_17979cfe362a00000123456789abcdeg'],
      ['another prefix', 'event_17979cfe362a00000123456789abcdef'],
      ['text before entry_', 'xentry_17979cfe362a00000123456789abcdef'],
    ])('gives no time for %s', (_case, id) => {
      expect(idTime(id, NOW_MS)).toEqual({ kind: 'none' });
    });
  });

  describe('UUIDv7 client ids', () => {
    it('gives the id time minus the clock-skew allowance as a lower bound (RFC 9562 A.6)', () => {
      // The RFC's example: unix_ts_ms 0x017F22E279B0 = 1,645,557,742,000 ms.
      expect(CLOCK_SKEW_MS).toBe(600_000);
      expect(idTime('017F22E2-79B0-7CC3-98C4-DC0C0C07398F', NOW_MS)).toEqual({
        kind: 'since',
        ns: 1_645_557_142_000_000_000n,
      });
    });

    it('reads a lower-case UUIDv7 alike', () => {
      expect(idTime('017f22e2-79b0-7cc3-98c4-dc0c0c07398f', NOW_MS)).toEqual({
        kind: 'since',
        ns: 1_645_557_142_000_000_000n,
      });
    });

    it.each<[string, string]>([
      ['a UUIDv4', 'f47ac10b-58cc-4372-a567-0e02b2c3d479'],
      ['a UUIDv7 without dashes', '017f22e279b07cc398c4dc0c0c07398f'],
      ['a UUIDv7 with the wrong variant', '017f22e2-79b0-7cc3-c8c4-dc0c0c07398f'],
      // 0x01a2377bf400 ms = NOW_MS + 2 days
      ['a UUIDv7 two days ahead', '01a2377b-f400-7cc3-98c4-dc0c0c07398f'],
      ['a UUIDv7 before 2000', '00000000-0001-7cc3-98c4-dc0c0c07398f'],
      ['an arbitrary client id', 'Batch.7:row-42'],
    ])('gives no time for %s', (_case, id) => {
      expect(idTime(id, NOW_MS)).toEqual({ kind: 'none' });
    });
  });
});
