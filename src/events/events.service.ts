import { Inject, Injectable, NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import { InfluxService } from '../influx/influx.service';
import type { Point } from '../influx/line-protocol';
import { RetryLaterException } from '../http/retry-later.exception';
import { MetricsService } from '../metrics/metrics.service';
import { SpoolService } from '../spool/spool.service';
import { PointClock } from '../store/point-clock';
import { Outcome, StoreService } from '../store/store.service';
import { parseEvent } from './event.dto';
import { EVENT_ID, eventToPoint } from './event-point';
import { eventQuery, searchPlan } from './event-query';
import { eventsConfig, EventsConfig } from './events.config';
import { parsePoint } from './point.dto';
import { Refusal } from './refusal';
import { quote } from './quote';
import { answerOf } from './store-answer';

/**
 * The answer to a batch of events: ids aligned with the input, null where rejected. An event
 * that could not be kept just then (the spool full) carries `status` 503 and `retryAfter`, so
 * that a client sends it again instead of giving it up.
 */
export interface BatchResult {
  event_ids: Array<string | null>;
  rejected: Array<{ index: number; reason: string; status?: number; retryAfter?: number }>;
}

/** Whether a read-back event is in InfluxDB or still waiting in the spool. */
export type EventStatus = 'stored' | 'queued';

@Injectable()
export class EventsService {
  constructor(
    @Inject(eventsConfig.KEY) private readonly config: EventsConfig,
    private readonly store: StoreService,
    private readonly clock: PointClock,
    private readonly influx: InfluxService,
    private readonly spool: SpoolService,
    private readonly metrics: MetricsService,
  ) {}

  /** Generation 1.0: one event object; its id once stored (200) or spooled (202). */
  logEvent(body: Record<string, unknown>): Promise<{ id: string; outcome: Outcome }> {
    return this.counted(1, async () => {
      const point = this.eventPoint(body);
      const outcome = await this.store.store([point], false).catch(rethrowAnswer);
      return { id: point.eventId!, outcome };
    });
  }

  /** Generation 1.1: an array of points, all valid or none stored (docs/API.md, "Points"). */
  logPoints(body: unknown[]): Promise<{ outcome: Outcome }> {
    return this.counted(body.length, async () => {
      // The original answered "OK" to an empty array; there is nothing to store.
      if (body.length === 0) return { outcome: 'stored' as const };
      const points = body.map((element, index) =>
        parsePoint(element, index, this.config.limits, this.clock.next()),
      );
      const outcome = await this.store.store(points, true).catch(rethrowAnswer);
      return { outcome };
    });
  }

  /** The point of one event object, stamped now; throws a Refusal. */
  private eventPoint(body: Record<string, unknown>): Point {
    const parsed = parseEvent(body, this.config.limits);
    return eventToPoint(parsed, this.config.tableName, this.config.tagKeys, this.clock.next());
  }

  /** Counts `n` events by outcome, or as refused with the reason of the error. */
  private async counted<T extends { outcome: Outcome }>(
    n: number,
    run: () => Promise<T>,
  ): Promise<T> {
    try {
      const result = await run();
      this.metrics.events.inc({ outcome: result.outcome, reason: '' }, n);
      return result;
    } catch (error) {
      this.metrics.events.inc({ outcome: 'refused', reason: refusalReason(error) }, n);
      throw error;
    }
  }

  /**
   * `POST /log/events`: each event stands alone. The valid ones are stored (or spooled), the
   * others reported with their index. 400 when none is valid; 503 when none could be kept.
   */
  async logEvents(body: unknown[]): Promise<{ result: BatchResult; outcome: Outcome }> {
    const { maxBatchEvents } = this.config.limits;
    if (body.length > maxBatchEvents) {
      throw new PayloadTooLargeException(
        `a batch may hold at most ${maxBatchEvents} events (MAX_BATCH_EVENTS); this one has ${body.length}`,
      );
    }
    if (body.length === 0) throw new Refusal('', 'the array holds no events');
    const result: BatchResult = { event_ids: body.map(() => null), rejected: [] };
    const reject = (index: number, error: unknown) =>
      result.rejected.push({
        index,
        reason: reasonOf(error),
        ...(error instanceof RetryLaterException
          ? { status: error.getStatus(), retryAfter: error.retryAfterSeconds }
          : {}),
      });

    const accepted: Array<{ index: number; point: Point }> = [];
    for (const [index, element] of body.entries()) {
      try {
        if (typeof element !== 'object' || element === null || Array.isArray(element)) {
          throw new Refusal('', 'an event must be a JSON object');
        }
        accepted.push({ index, point: this.eventPoint(element as Record<string, unknown>) });
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        reject(index, error);
      }
    }

    const outcomes = (await this.store.storeEach(accepted.map((a) => a.point))).map((outcome) =>
      typeof outcome === 'string' ? outcome : (answerOf(outcome) as Error),
    );
    // Counted per label set, not per event: prom-client hashes the labels of every inc().
    const counts = new Map<string, number>([['refused\tinvalid', body.length - accepted.length]]);
    for (const outcome of outcomes) {
      const key =
        typeof outcome === 'string' ? `${outcome}\t` : `refused\t${refusalReason(outcome)}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    for (const [key, n] of counts) {
      const [outcome = '', reason = ''] = key.split('\t');
      this.metrics.events.inc({ outcome, reason }, n);
    }
    let spooled = false;
    let retryLater: RetryLaterException | undefined;
    outcomes.forEach((outcome, i) => {
      const { index, point } = accepted[i]!;
      if (outcome === 'stored' || outcome === 'spooled') {
        result.event_ids[index] = point.eventId!;
        spooled ||= outcome === 'spooled';
      } else {
        if (outcome instanceof RetryLaterException) retryLater = outcome;
        reject(index, outcome);
      }
    });
    result.rejected.sort((a, b) => a.index - b.index);

    const kept = result.event_ids.some((id) => id !== null);
    if (!kept && retryLater) throw retryLater;
    if (!kept) throw new Refusal('', 'no event of the batch is valid', undefined, { ...result });
    return { result, outcome: spooled ? 'spooled' : 'stored' };
  }

  /**
   * The event with that id as one flat object (docs/API.md, "Reading an event back"), with where it is: still in the
   * spool (`queued`) or in InfluxDB (`stored`).
   */
  async findEvent(rawId: string): Promise<{ event: Record<string, unknown>; status: EventStatus }> {
    const id = rawId.trim();
    const notFound = () => new NotFoundException(`no event with id ${JSON.stringify(quote(id))}`);
    if (!EVENT_ID.test(id)) throw notFound();
    if (this.spool.pendingRecords > 0) {
      // Server ids are lower-case; `entry_` ids match in any case (docs/API.md, "Reading an event back").
      const lower = /^entry_/i.test(id) ? id.toLowerCase() : id;
      const queued =
        (await this.spool.find(id)) ?? (lower === id ? undefined : await this.spool.find(lower));
      if (queued) return { event: flatten(queued), status: 'queued' };
    }
    for (const bounds of searchPlan(id, Date.now(), this.config.readWindowHours)) {
      const found = await this.newestStored(eventQuery(this.config.tableName, id, bounds));
      if (found) return { event: found, status: 'stored' };
    }
    throw notFound();
  }

  /** Runs one event query; the newest event it answers as one flat object, if any. */
  private async newestStored(q: string): Promise<Record<string, unknown> | undefined> {
    let results;
    try {
      results = await this.influx.query(q);
    } catch {
      throw new RetryLaterException('InfluxDB is unavailable; try again later', 5);
    }
    const [result] = results;
    if (result?.error && !/database not found/.test(result.error)) {
      throw new Error(`InfluxDB refused the event query: ${result.error}`);
    }
    // One series per tag set; the newest row of them all (a client id may be reused).
    let newest: { row: unknown[]; columns: string[]; tags: Record<string, string> } | undefined;
    for (const series of result?.series ?? []) {
      const row = series.values[0];
      if (row && (!newest || sortableTime(row[0]) > sortableTime(newest.row[0]))) {
        newest = { row, columns: series.columns, tags: series.tags ?? {} };
      }
    }
    if (!newest) return undefined;
    // No prototype: a stored key named `__proto__` is a key like any other, not a setter.
    const event = Object.create(null) as Record<string, unknown>;
    event.time = newest.row[0];
    // GROUP BY * answers every tag key of the measurement, "" where this event has none.
    for (const [key, value] of Object.entries(newest.tags)) if (value !== '') event[key] = value;
    newest.columns.forEach((column, i) => {
      // Other events' fields come back null. A key both tag and field keeps the field's value,
      // which has the type the event was sent with.
      const value = newest.row[i];
      if (value !== null && value !== undefined) event[column] = value;
    });
    return event;
  }
}

function rethrowAnswer(error: unknown): never {
  throw answerOf(error);
}

/** The message of a refusal, for a batch's `rejected` entry. */
function reasonOf(error: unknown): string {
  if (error instanceof Refusal) return (error.getResponse() as { message: string }).message;
  return error instanceof Error ? error.message : String(error);
}

/** The `reason` label of a refused event. */
function refusalReason(error: unknown): string {
  if (error instanceof RetryLaterException) {
    return /spool/.test(reasonOf(error)) ? 'spool_full' : 'unavailable';
  }
  if (error instanceof Refusal) {
    return /field type conflict/.test(reasonOf(error)) ? 'type_conflict' : 'invalid';
  }
  return 'error';
}

/** A spooled event in the shape InfluxDB would answer it (time first, RFC 3339 in ns). */
function flatten(point: Point): Record<string, unknown> {
  // No prototype: a key named `__proto__` is a key like any other, not a setter.
  const event = Object.create(null) as Record<string, unknown>;
  event.time = rfc3339(point.time);
  for (const [key, value] of point.tags) event[key] = value;
  for (const [key, value] of point.fields) event[key] = value;
  return event;
}

/** InfluxDB's RFC 3339 time with its fraction padded to 9 digits, so that it sorts as text. */
function sortableTime(time: unknown): string {
  const [whole = '', fraction = ''] = String(time).replace(/Z$/, '').split('.');
  return `${whole}.${fraction.padEnd(9, '0')}`;
}

function rfc3339(ns: bigint): string {
  const seconds = new Date(Number(ns / 1_000_000_000n) * 1000).toISOString().slice(0, 19);
  const fraction = String(ns % 1_000_000_000n)
    .padStart(9, '0')
    .replace(/0+$/, '');
  return `${seconds}${fraction ? `.${fraction}` : ''}Z`;
}
