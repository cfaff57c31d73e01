/**
 * Spool bytes per event, for the sizing table of docs/OPERATIONS.md ("Sizing"): `npx ts-node
 * --transpile-only test/bench/spool-bytes.ts`. Runs the benchmark's event through the service's
 * own code (parseEvent, eventToPoint, encodeRecord) and prints the bytes one spool record takes
 * per event, one event per request (one record each) and 100 per request (one record per batch).
 */
import { eventToPoint } from '../../src/events/event-point';
import { parseEvent } from '../../src/events/event.dto';
import { parseEventsConfig } from '../../src/events/events.config';
import type { Point } from '../../src/store/point';
import { encodeRecord } from '../../src/spool/spool-record';

/** The event test/bench/run.ts sends. */
const EVENT = { event: 'user.login', uid: 'user-1234', plan: 'pro', amount: 12.5, ok: true };
const { limits, tableName } = parseEventsConfig({});

function spooled(): Point {
  const parsed = parseEvent({ ...EVENT }, limits);
  return eventToPoint(parsed, tableName, new Set(), BigInt(Date.now()) * 1_000_000n);
}

for (const perRequest of [1, 100]) {
  const record = encodeRecord(Array.from({ length: perRequest }, spooled));
  const perEvent = record.length / perRequest;
  process.stdout.write(
    `${perRequest} event(s) per request: ${record.length} bytes per record, ${perEvent.toFixed(1)} bytes per event\n`,
  );
}
