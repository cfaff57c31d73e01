import type { ServerClock } from './server-clock';
import type { QueuedEvent } from './stats-event';

/** What `,"time":<ms>` adds to an event's JSON at most (13 digits: until the year 2286). */
export const TIME_BYTES = ',"time":'.length + 13;

/**
 * Gives each event of the batch logged before the service's clock was known its `time`: when it
 * was logged, on the service's clock (the local time then, plus the offset known now; the
 * offset of a clock does not drift much in the time an event waits). Once given, an event's
 * `time` and JSON never change, whatever resends follow. Returns whether any event changed.
 */
export function stampWaiting(batch: readonly QueuedEvent[], clock: ServerClock): boolean {
  if (!clock.known) return false;
  let changed = false;
  for (const queued of batch) {
    if (queued.loggedAt === undefined) continue;
    const time = Math.round(queued.loggedAt + clock.offsetMs);
    const tail = `,"time":${time}}`;
    queued.json = queued.json.slice(0, -1) + tail;
    queued.bytes += tail.length - 1 - TIME_BYTES;
    queued.event.time = time;
    delete queued.loggedAt;
    changed = true;
  }
  return changed;
}
