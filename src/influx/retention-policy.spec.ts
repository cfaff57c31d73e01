import { goDurationMs } from './retention-policy';

describe(goDurationMs.name, () => {
  it.each([
    ['0s', 0],
    ['168h0m0s', 168 * 3_600_000],
    ['1h30m', 90 * 60_000],
    ['720h0m0s', 30 * 24 * 3_600_000],
    ['1500ms', 1500],
  ])('reads %s as %d ms', (text, ms) => {
    expect(goDurationMs(text)).toBe(ms);
  });

  it.each(['', 'INF', '7d', '1h 0m'])('refuses %j', (text) => {
    expect(goDurationMs(text)).toBeUndefined();
  });
});
