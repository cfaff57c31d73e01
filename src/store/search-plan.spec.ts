import { searchPlan } from './search-plan';

/** 2026-11-30T16:00:00Z */
const NOW_MS = 1_796_054_400_000;
const NOW_NS = 1_796_054_400_000_000_000n;
const HOUR_NS = 3_600_000_000_000n;
/** 0x17979cfe362a0000 ns = 2023-11-14T22:13:20Z */
const SERVER_ID = 'entry_17979cfe362a00000123456789abcdef';
const SERVER_NS = 1_700_000_000_000_000_000n;

describe(searchPlan.name, () => {
  it('looks at the moment of a server id, then within the window', () => {
    expect(searchPlan(SERVER_ID, NOW_MS, 168)).toEqual([
      { at: SERVER_NS },
      { from: NOW_NS - 168n * HOUR_NS },
    ]);
  });

  it('looks at the moment of a server id, then everywhere when the window is lifted (0)', () => {
    expect(searchPlan(SERVER_ID.toUpperCase(), NOW_MS, 0)).toEqual([{ at: SERVER_NS }, {}]);
  });

  it.each(['entry_2d1c0ae39a6a4c0e9f5b8f2a1b0c7d61', 'Batch.7:row-42'])(
    'looks for %s within the window only, or everywhere when it is lifted',
    (id) => {
      expect(searchPlan(id, NOW_MS, 24)).toEqual([{ from: NOW_NS - 24n * HOUR_NS }]);
      expect(searchPlan(id, NOW_MS, 0)).toEqual([{}]);
    },
  );

  describe('a UUIDv7 client id', () => {
    // 0x01a22cf84d80 ms = NOW_MS - 1 hour; the search starts 10 minutes (clock skew) earlier.
    const recent = '01a22cf8-4d80-7cc3-98c4-dc0c0c07398f';
    const recentFrom = NOW_NS - HOUR_NS - HOUR_NS / 6n;
    // RFC 9562 A.6: 0x017F22E279B0 ms = 1,645,557,742,000 ms, minus 10 minutes.
    const old = '017F22E2-79B0-7CC3-98C4-DC0C0C07398F';
    const oldFrom = 1_645_557_142_000_000_000n;

    it('is looked for from its time on, then in the rest of the window before it', () => {
      expect(searchPlan(recent, NOW_MS, 168)).toEqual([
        { from: recentFrom },
        { from: NOW_NS - 168n * HOUR_NS, before: recentFrom },
      ]);
    });

    it('is looked for from its time on only, when that is where the window starts', () => {
      expect(searchPlan(recent, NOW_MS - 600_000, 1)).toEqual([{ from: recentFrom }]);
    });

    it('made before a one-hour window, is looked for during one hour from its time, then in the window', () => {
      expect(searchPlan(recent, NOW_MS, 1)).toEqual([
        { from: recentFrom, before: recentFrom + HOUR_NS },
        { from: NOW_NS - HOUR_NS },
      ]);
    });

    it('older than the window, is looked for one window length from its time, then in the window', () => {
      expect(searchPlan(old, NOW_MS, 168)).toEqual([
        { from: oldFrom, before: oldFrom + 168n * HOUR_NS },
        { from: NOW_NS - 168n * HOUR_NS },
      ]);
    });

    it('is looked for from its time on, then everywhere before it when the window is lifted', () => {
      expect(searchPlan(old, NOW_MS, 0)).toEqual([{ from: oldFrom }, { before: oldFrom }]);
    });
  });
});
