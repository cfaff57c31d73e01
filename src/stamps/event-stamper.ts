import { randomInt } from 'node:crypto';
import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Refusal } from '../http/refusal';
import { spoolConfig, type SpoolConfig } from '../spool/spool.config';
import { ensureSpoolDir } from '../spool/spool-dir';
import { cyrb53 } from './cyrb53';
import { DedupIndex } from './dedup-index';
import { PointClock, RECEIVE_SLOTS } from './point-clock';
import { RetentionBound } from './retention';
import { StampLog, StampRecords } from './stamp-log';
import { stampsConfig, type StampsConfig } from './stamps.config';

const NS_PER_MS = 1_000_000n;
const HOUR_MS = 3_600_000;
/** Sub-millisecond slots for events with their own time: 500000–999999 (docs/API.md). */
const TIME_SLOTS = 1_000_000 - Number(RECEIVE_SLOTS);

/** The time a point gets, and whether its client id was stamped before within the window. */
export interface Stamp {
  readonly time: bigint;
  readonly duplicate: boolean;
}

/**
 * THE timestamp decision for events (docs/API.md, "Exactly once"):
 * - no `time`, no client id: the receive time (PointClock, 000000–499999 ns of its millisecond);
 * - a client id seen within DEDUP_WINDOW_HOURS: the time its first copy got, so the resend is
 *   the identical point, and a duplicate;
 * - a `time` at millisecond precision with a client id: slot 500000 + cyrb53(id) % 500000 of
 *   that millisecond, the same at every replica and after every restart; a slot this process
 *   gave another id of the same measurement and tags goes to the next free one;
 * - a `time` finer than a millisecond: stored as given (1 ns later if this process gave that
 *   nanosecond to another event of the series);
 * - a `time` without a client id: a random free slot of the upper half.
 * A `time` more than MAX_EVENT_FUTURE_SECONDS ahead, or older than the retention policy keeps,
 * is refused naming `time` and the bound. No query to InfluxDB per event.
 */
@Injectable()
export class EventStamper implements OnModuleInit, OnModuleDestroy {
  private readonly index: DedupIndex;
  private readonly log: StampLog;
  private readonly dir: string;
  /**
   * Slots given to events with a time: key (series and nanosecond) to the id's hash (a negative
   * number for an event without id), in the same typed arrays as the ids, oldest forgotten first.
   */
  private readonly taken: DedupIndex;
  private unnamed = -1;
  private boundsAt = -1;
  private latest = 0n;
  private earliest = 0n;
  private lastSeries = '';
  private lastSeriesHash = cyrb53('');
  private readonly pending = new StampRecords();
  private flushing?: NodeJS.Immediate;
  /** Whether the event stampTime() stamped last is a resend of a client id (a duplicate). */
  duplicate = false;

  constructor(
    readonly clock: PointClock,
    private readonly retention: RetentionBound,
    @Inject(stampsConfig.KEY) private readonly config: StampsConfig,
    @Inject(spoolConfig.KEY) spool: SpoolConfig,
  ) {
    this.index = new DedupIndex(config.dedupMaxEvents, config.dedupWindowHours * HOUR_MS);
    this.taken = new DedupIndex(config.dedupMaxEvents, config.dedupWindowHours * HOUR_MS);
    this.dir = spool.dir;
    this.log = new StampLog(spool.dir);
  }

  onModuleInit(): void {
    ensureSpoolDir(this.dir);
    this.log.load(this.index, Date.now());
  }

  onModuleDestroy(): void {
    this.flush();
    this.log.close();
  }

  /** The receive time, for what has no id and no time (points of the 1.1 API, most events). */
  receiveTime(): bigint {
    return this.clock.next();
  }

  /**
   * The time of an event with a client id and/or its own `time` (ns), in the series of
   * `measurement` and `tags`. Throws a Refusal for a `time` out of bounds.
   */
  stamp(
    eventId: string | undefined,
    time: bigint | undefined,
    measurement: string,
    tags: ReadonlyArray<readonly [string, string]>,
  ): Stamp {
    const stamped = this.stampTime(eventId, time, measurement, tags);
    return { time: stamped, duplicate: this.duplicate };
  }

  /** stamp() without the object: the time, and `duplicate` set for this event. */
  stampTime(
    eventId: string | undefined,
    time: bigint | undefined,
    measurement: string,
    tags: ReadonlyArray<readonly [string, string]>,
  ): bigint {
    const nowMs = Date.now();
    if (time !== undefined) this.checkBounds(time, nowMs);
    this.duplicate = false;
    if (eventId === undefined) {
      return this.slot(time!, (this.unnamed -= 1), measurement, tags, nowMs);
    }
    const hash = cyrb53(eventId);
    const first = this.index.get(hash, nowMs);
    if (first !== undefined) {
      this.duplicate = true;
      return first;
    }
    const stamped =
      time === undefined ? this.clock.next() : this.slot(time, hash, measurement, tags, nowMs);
    this.index.add(hash, stamped, nowMs, true);
    this.pending.push(hash, stamped, nowMs);
    return stamped;
  }

  /**
   * Call before storing the events just stamped: their ids go to the log in one write at the end
   * of this turn of the event loop (setImmediate), shared by every request of the turn. No
   * answer can leave before: storing or spooling an event waits for I/O, whose completion comes
   * in a later turn.
   */
  commit(): void {
    if (this.pending.count === 0 || this.flushing !== undefined) return;
    this.flushing = setImmediate(() => this.flush());
  }

  /** Writes what commit() scheduled, now. */
  flush(): void {
    clearImmediate(this.flushing);
    this.flushing = undefined;
    if (this.pending.count === 0) return;
    this.log.append(this.pending.buffer, this.pending.count, this.index);
    this.pending.count = 0;
  }

  private checkBounds(time: bigint, nowMs: number): void {
    if (nowMs !== this.boundsAt) this.bounds(nowMs);
    const { maxFutureSeconds } = this.config;
    if (time > this.latest) {
      throw new Refusal(
        'time',
        `is more than ${maxFutureSeconds} s ahead of the service's clock (MAX_EVENT_FUTURE_SECONDS)`,
      );
    }
    const policy = this.retention.current;
    if (policy !== undefined && policy.durationMs > 0 && time < this.earliest) {
      throw new Refusal(
        'time',
        `is older than retention policy ${JSON.stringify(policy.name)} keeps (${hours(policy.durationMs)} h)`,
      );
    }
  }

  /** The bounds of `time` at `nowMs`, in nanoseconds, made once per millisecond. */
  private bounds(nowMs: number): void {
    this.boundsAt = nowMs;
    this.latest = BigInt(nowMs + this.config.maxFutureSeconds * 1000) * NS_PER_MS;
    const policy = this.retention.current;
    this.earliest =
      policy !== undefined && policy.durationMs > 0
        ? BigInt(nowMs - policy.durationMs) * NS_PER_MS
        : 0n;
  }

  /** A free nanosecond of the event's millisecond for `hash`, per the rules above. */
  private slot(
    time: bigint,
    hash: number,
    measurement: string,
    tags: ReadonlyArray<readonly [string, string]>,
    nowMs: number,
  ): bigint {
    let series = measurement;
    for (const [key, value] of tags) series += `,${key}=${value}`;
    // The events of a batch are mostly of one series: its hash is made once.
    if (series !== this.lastSeries) {
      this.lastSeries = series;
      this.lastSeriesHash = cyrb53(series);
    }
    const seriesHash = this.lastSeriesHash;
    const given = Number(time % NS_PER_MS);
    const ms = Number(time / NS_PER_MS);
    const exact = given !== 0;
    const half = Number(RECEIVE_SLOTS);
    let offset = exact ? given : half + (hash >= 0 ? hash % TIME_SLOTS : randomInt(TIME_SLOTS));
    const owner = BigInt(hash);
    for (let tries = 0; ; tries++) {
      const key = slotKey(seriesHash, ms, offset);
      const taken = this.taken.get(key, nowMs);
      if (taken === undefined || taken === owner || tries >= TIME_SLOTS) {
        if (taken === undefined) this.taken.add(key, owner, nowMs, true);
        return offset === given ? time : time + BigInt(offset - given);
      }
      offset = exact ? offset + 1 : half + ((offset - half + 1) % TIME_SLOTS);
    }
  }
}

/**
 * A 53-bit key for (series, millisecond, nanosecond offset), mixed as cyrb53 mixes: two keys
 * alike for different slots only cost a needless step to the next slot.
 */
function slotKey(seriesHash: number, ms: number, offset: number): number {
  let h1 = (seriesHash >>> 0) ^ Math.imul(ms >>> 0, 2654435761) ^ offset;
  let h2 =
    (seriesHash / 4294967296) ^
    Math.imul((ms / 4294967296) >>> 0, 1597334677) ^
    Math.imul(offset, 2246822507);
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

function hours(ms: number): string {
  return String(Math.round((ms / HOUR_MS) * 100) / 100);
}
