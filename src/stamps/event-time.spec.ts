import { Refusal } from '../http/refusal';
import { parseEventTime } from './event-time';

/** 2026-12-03T07:25:00Z in milliseconds (worked out by hand: 20,790 days after 1970, 07:25). */
const MS = 1_796_282_700_000;
const NS = BigInt(MS) * 1_000_000n;

function refusalOf(value: unknown): { key: string; message: string } {
  try {
    parseEventTime(value);
  } catch (error) {
    expect(error).toBeInstanceOf(Refusal);
    const body = (error as Refusal).getResponse() as { key: string; message: string };
    return { key: body.key, message: body.message };
  }
  throw new Error(`${JSON.stringify(value)} was accepted`);
}

describe(parseEventTime.name, () => {
  it('reads whole milliseconds since the epoch', () => {
    expect(parseEventTime(MS)).toBe(NS);
    expect(parseEventTime(0)).toBe(0n);
  });

  it('reads RFC 3339 in UTC, keeping every fraction digit down to the nanosecond', () => {
    expect(parseEventTime('2026-12-03T07:25:00Z')).toBe(NS);
    expect(parseEventTime('2026-12-03T07:25:00.123Z')).toBe(NS + 123_000_000n);
    expect(parseEventTime('2026-12-03t07:25:00.000000007z')).toBe(NS + 7n);
    expect(parseEventTime('2026-12-03T07:25:00.5Z')).toBe(NS + 500_000_000n);
  });

  it('applies the zone offset', () => {
    expect(parseEventTime('2026-12-03T08:25:00+01:00')).toBe(NS);
    expect(parseEventTime('2026-12-02T23:55:00-07:30')).toBe(NS);
  });

  it.each([
    ['no zone', '2026-12-03T07:25:00'],
    ['a date only', '2026-12-03'],
    ['ten fraction digits', '2026-12-03T07:25:00.1234567890Z'],
    ['a fractional number', MS + 0.5],
    ['a negative number', -1],
    ['a number past 2^53', 2 ** 53],
    ['a boolean', true],
    ['an object', { at: MS }],
    ['a numeric string', String(MS)],
  ])('refuses %s, naming time and the formats', (_what, value) => {
    const refusal = refusalOf(value);
    expect(refusal.key).toBe('time');
    expect(refusal.message).toContain('RFC 3339');
    expect(refusal.message).toContain('milliseconds since 1970');
  });

  it.each([
    ['February 30th', '2026-02-30T00:00:00Z'],
    ['hour 24', '2026-12-03T24:00:00Z'],
    ['minute 60', '2026-12-03T07:60:00Z'],
  ])('refuses %s: a date or time that does not exist', (_what, value) => {
    expect(refusalOf(value).message).toContain('does not exist');
  });

  it('refuses a time before 1970', () => {
    expect(refusalOf('1969-12-31T23:59:59Z').message).toContain('before 1970');
  });
});
