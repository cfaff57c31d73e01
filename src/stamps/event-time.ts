import { Refusal } from '../http/refusal';

const NS_PER_MS = 1_000_000n;

/** RFC 3339 date-time with a zone: `2026-12-03T07:25:00.123456789Z`, `…+01:00`. */
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

export const TIME_FORMAT_RULE =
  'must be an RFC 3339 date-time with a zone (e.g. 2026-12-03T07:25:00.123Z, at most 9 fraction digits) or a whole number of milliseconds since 1970-01-01T00:00:00Z';

/**
 * The nanoseconds since the epoch of an event's `time` (docs/API.md, "Event time"), exactly as
 * given: an RFC 3339 string keeps every fraction digit down to the nanosecond, a number is whole
 * milliseconds. Throws a Refusal naming `time` and the rule. The bounds (how far ahead, how far
 * back) are the stamper's, which knows the clock and the retention policy.
 */
export function parseEventTime(value: unknown): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new Refusal('time', TIME_FORMAT_RULE);
    return BigInt(value) * NS_PER_MS;
  }
  if (typeof value !== 'string') throw new Refusal('time', TIME_FORMAT_RULE);
  const parts = RFC3339.exec(value);
  if (!parts) throw new Refusal('time', TIME_FORMAT_RULE);
  const [, y, mo, d, h, mi, s, fraction = '', zulu, sign, zh, zm] = parts;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 2026-02-30 over to March: a date it changed was not a real one.
  const check = new Date(ms);
  if (
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day
  ) {
    throw new Refusal('time', `${TIME_FORMAT_RULE}; this date or time of day does not exist`);
  }
  let offsetMinutes = 0;
  if (zulu === undefined) {
    if (Number(zh) > 23 || Number(zm) > 59) throw new Refusal('time', TIME_FORMAT_RULE);
    offsetMinutes = (sign === '-' ? -1 : 1) * (Number(zh) * 60 + Number(zm));
  }
  const ns =
    BigInt(ms - offsetMinutes * 60_000) * NS_PER_MS + BigInt(fraction.padEnd(9, '0') || '0');
  if (ns < 0n) throw new Refusal('time', `${TIME_FORMAT_RULE}; it is before 1970`);
  return ns;
}
