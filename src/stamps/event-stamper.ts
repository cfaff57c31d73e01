import { randomInt } from 'node:crypto';
import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Refusal } from '../events/refusal';
import { spoolConfig, type SpoolConfig } from '../spool/spool.config';
import { ensureSpoolDir } from '../spool/spool-dir';
import { cyrb53 } from './cyrb53';
import { DedupIndex } from './dedup-index';
import { PointClock, RECEIVE_SLOTS } from './point-clock';
import { RetentionBound } from './retention';
import { StampLog } from './stamp-log';
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
  /** Slots given to events with a time: key (series and time) to the id's hash, oldest first. */
  private readonly taken = new Map<number, number>();
  private unnamed = -1;
  private pending = '';
  private pendingCount = 0;

  constructor(
    readonly clock: PointClock,
    private readonly retention: RetentionBound,
    @Inject(stampsConfig.KEY) private readonly config: StampsConfig,
    @Inject(spoolConfig.KEY) spool: SpoolConfig,
  ) {
    this.index = new DedupIndex(config.dedupMaxEvents, config.dedupWindowHours * HOUR_MS);
    this.dir = spool.dir;
    this.log = new StampLog(spool.dir);
  }

  onModuleInit(): void {
    ensureSpoolDir(this.dir);
    this.log.load(this.index, Date.now());
  }

  onModuleDestroy(): void {
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
    const nowMs = Date.now();
    if (time !== undefined) this.checkBounds(time, nowMs);
    if (eventId === undefined) {
      return { time: this.slot(time!, (this.unnamed -= 1), measurement, tags), duplicate: false };
    }
    const hash = cyrb53(eventId);
    const first = this.index.get(hash, nowMs);
    if (first !== undefined) return { time: first, duplicate: true };
    const stamped =
      time === undefined ? this.clock.next() : this.slot(time, hash, measurement, tags);
    this.index.add(hash, stamped, nowMs);
    this.pending += `${hash} ${stamped} ${nowMs}\n`;
    this.pendingCount += 1;
    return { time: stamped, duplicate: false };
  }

  /** Writes the ids stamped since the last call to the log: call before storing them. */
  commit(): void {
    if (this.pendingCount === 0) return;
    const [lines, count] = [this.pending, this.pendingCount];
    this.pending = '';
    this.pendingCount = 0;
    this.log.append(lines, count, this.index);
  }

  private checkBounds(time: bigint, nowMs: number): void {
    const { maxFutureSeconds } = this.config;
    if (time > BigInt(nowMs + maxFutureSeconds * 1000) * NS_PER_MS) {
      throw new Refusal(
        'time',
        `is more than ${maxFutureSeconds} s ahead of the service's clock (MAX_EVENT_FUTURE_SECONDS)`,
      );
    }
    const policy = this.retention.current;
    if (policy !== undefined && policy.durationMs > 0) {
      if (time < BigInt(nowMs - policy.durationMs) * NS_PER_MS) {
        throw new Refusal(
          'time',
          `is older than retention policy ${JSON.stringify(policy.name)} keeps (${hours(policy.durationMs)} h)`,
        );
      }
    }
  }

  /** A free nanosecond of the event's millisecond for `hash`, per the rules above. */
  private slot(
    time: bigint,
    hash: number,
    measurement: string,
    tags: ReadonlyArray<readonly [string, string]>,
  ): bigint {
    let series = measurement;
    for (const [key, value] of tags) series += `,${key}=${value}`;
    const exact = time % NS_PER_MS !== 0n;
    const ms = time - (time % NS_PER_MS);
    let offset = exact
      ? Number(time % NS_PER_MS)
      : hash >= 0
        ? Number(RECEIVE_SLOTS) + (hash % TIME_SLOTS)
        : Number(RECEIVE_SLOTS) + randomInt(TIME_SLOTS);
    for (let tries = 0; ; tries++) {
      const candidate = ms + BigInt(offset);
      const key = cyrb53(`${series}\n${candidate}`);
      const owner = this.taken.get(key);
      if (owner === undefined || owner === hash || tries >= TIME_SLOTS) {
        this.take(key, hash);
        return candidate;
      }
      offset = exact
        ? offset + 1
        : Number(RECEIVE_SLOTS) + ((offset - Number(RECEIVE_SLOTS) + 1) % TIME_SLOTS);
    }
  }

  private take(key: number, hash: number): void {
    this.taken.delete(key);
    this.taken.set(key, hash);
    if (this.taken.size > this.index.capacity) {
      this.taken.delete(this.taken.keys().next().value!);
    }
  }
}

function hours(ms: number): string {
  return String(Math.round((ms / HOUR_MS) * 100) / 100);
}
