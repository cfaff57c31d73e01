/**
 * Where in time an event with a given id can be (docs/API.md, "Where a read looks"):
 * - `exact`: a server-made id, `entry_` + 32 hex, whose first 16 hex digits are the point's
 *   time in nanoseconds (big-endian, zero-padded) and the last 16 random;
 * - `since`: a UUIDv7 client id (RFC 9562, with dashes), whose first 48 bits are the Unix time
 *   in milliseconds at which the client made it; the server stamps the point when it receives
 *   it, so later, unless the client's clock runs ahead of the server's (CLOCK_SKEW_MS);
 * - `none`: any other id (the original's `entry_` + uuid4 hex, arbitrary client ids).
 *
 * A time is taken only when it is plausible: from 2000 to a day after `nowMs`. Outside that it
 * cannot be a stamp of this service (and may not be a valid InfluxDB time at all). Inside it an
 * `entry_` + uuid4 id of the original still decodes to a time now and then (a few in a hundred):
 * the caller must search elsewhere when nothing is stored at that time.
 */
export type IdTime =
  { kind: 'exact'; ns: bigint } | { kind: 'since'; ns: bigint } | { kind: 'none' };

/** How far a client's clock may run ahead of the server's and its UUIDv7 ids still match first. */
export const CLOCK_SKEW_MS = 10 * 60 * 1000;

const EARLIEST_MS = Date.UTC(2000, 0, 1);
const DAY_MS = 24 * 60 * 60 * 1000;
const NS_PER_MS = 1_000_000n;

/** `entry_` in any case: ids match case-insensitively (the original lower-cased them). */
const SERVER_ID = /^entry_([0-9a-f]{16})[0-9a-f]{16}$/i;
const UUID_V7 = /^([0-9a-f]{8})-([0-9a-f]{4})-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export function idTime(id: string, nowMs: number): IdTime {
  const latestNs = BigInt(nowMs + DAY_MS) * NS_PER_MS;
  const earliestNs = BigInt(EARLIEST_MS) * NS_PER_MS;
  const server = SERVER_ID.exec(id);
  if (server) {
    const ns = BigInt(`0x${server[1]}`);
    return ns >= earliestNs && ns <= latestNs ? { kind: 'exact', ns } : { kind: 'none' };
  }
  const uuid = UUID_V7.exec(id);
  if (uuid) {
    const ms = Number.parseInt(`${uuid[1]}${uuid[2]}`, 16);
    const ns = BigInt(ms) * NS_PER_MS;
    if (ns >= earliestNs && ns <= latestNs) {
      return { kind: 'since', ns: BigInt(ms - CLOCK_SKEW_MS) * NS_PER_MS };
    }
  }
  return { kind: 'none' };
}
