import {
  HttpException,
  Inject,
  Injectable,
  NotFoundException,
  PayloadTooLargeException,
} from '@nestjs/common';
import { RetryLaterException } from '../http/retry-later.exception';
import { MetricsService } from '../metrics/metrics.service';
import type { ReadPolicy } from '../store/event-reader';
import { EventStamper } from '../stamps/event-stamper';
import type { Point } from '../store/point';
import { StoreService } from '../store/store.service';
import type { EventStatus, NotKept, StoreOutcome } from '../store/store.outcomes';
import { parseEvent } from './event.dto';
import { EVENT_ID, eventToPoint, type ParsedEvent } from './event-point';
import { eventsConfig, EventsConfig } from './events.config';
import { parsePoint } from './point.dto';
import { quote } from '../http/quote';
import { Refusal } from '../http/refusal';
import { answerOf, readAnswerOf, reasonOf } from './store-answer';

/** Where accepted events went: InfluxDB (200) or the durable spool (202). */
export type Kept = 'stored' | 'spooled';

/**
 * The answer to a batch of events: ids aligned with the input, null where rejected. An event
 * that could not be kept just then (the spool full) carries `status` 503 and `retryAfter`, so
 * that a client sends it again instead of giving it up.
 */
export interface BatchResult {
  event_ids: Array<string | null>;
  rejected: Array<{ index: number; reason: string; status?: number; retryAfter?: number }>;
  /** Indexes of events whose client id was stamped before within DEDUP_WINDOW_HOURS. */
  duplicates?: number[];
}

/**
 * The events API: bodies in, points to the store, the store's outcomes out as answers and as
 * stats_events_total. It knows nothing of InfluxDB or the spool: only the store's outcomes.
 */
@Injectable()
export class EventsService {
  private readonly readPolicy: ReadPolicy;

  constructor(
    @Inject(eventsConfig.KEY) private readonly config: EventsConfig,
    private readonly store: StoreService,
    private readonly stamper: EventStamper,
    private readonly metrics: MetricsService,
  ) {
    this.readPolicy = {
      measurement: config.tableName,
      windowHours: config.readWindowHours,
      maxScans: config.readMaxScans,
    };
  }

  /**
   * Generation 1.0: one event object; its id once stored (200) or spooled (202), and whether
   * its client id was seen before (a resend: the identical point, stored once).
   */
  async logEvent(
    body: Record<string, unknown>,
  ): Promise<{ id: string; outcome: Kept; duplicate: boolean }> {
    const { point, duplicate } = this.refusedUnlessValid(1, () => this.eventPoint(body));
    this.stamper.commit();
    const outcome = this.kept(1, await this.store.store([point], false));
    return { id: point.eventId!, outcome, duplicate };
  }

  /** Generation 1.1: an array of points, all valid or none stored (docs/API.md, "Points"). */
  async logPoints(body: unknown[]): Promise<{ outcome: Kept }> {
    // The original answered "OK" to an empty array; there is nothing to store.
    if (body.length === 0) return { outcome: 'stored' };
    const points = this.refusedUnlessValid(body.length, () =>
      body.map((element, index) =>
        parsePoint(element, index, this.config.limits, this.stamper.receiveTime()),
      ),
    );
    return { outcome: this.kept(body.length, await this.store.store(points, true)) };
  }

  /**
   * `POST /log/events`: each event stands alone. The valid ones are stored (or spooled), the
   * others reported with their index. 400 when none is valid; 503 when none could be kept.
   */
  async logEvents(body: unknown[]): Promise<{ result: BatchResult; outcome: Kept }> {
    const { maxBatchEvents } = this.config.limits;
    if (body.length > maxBatchEvents) {
      throw new PayloadTooLargeException(
        `a batch may hold at most ${maxBatchEvents} events (MAX_BATCH_EVENTS); this one has ${body.length}`,
      );
    }
    if (body.length === 0) throw new Refusal('', 'the array holds no events');
    const result: BatchResult = { event_ids: body.map(() => null), rejected: [] };
    const reject = (index: number, refusal: HttpException) =>
      result.rejected.push({
        index,
        reason: (refusal.getResponse() as { message: string }).message,
        // Not kept just then (the spool full): the client sends it again after Retry-After.
        ...(refusal instanceof RetryLaterException
          ? { status: refusal.getStatus(), retryAfter: refusal.retryAfterSeconds }
          : {}),
      });

    // Parallel arrays and an indexed loop: this runs for every event of every batch.
    const points: Point[] = [];
    const at: number[] = [];
    const duplicates: number[] = [];
    for (let index = 0; index < body.length; index++) {
      const element = body[index];
      try {
        if (typeof element !== 'object' || element === null || Array.isArray(element)) {
          throw new Refusal('', 'an event must be a JSON object');
        }
        const { point, duplicate } = this.eventPoint(element as Record<string, unknown>);
        points.push(point);
        at.push(index);
        if (duplicate) duplicates.push(index);
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        reject(index, error);
      }
    }
    this.stamper.commit();

    const outcomes = await this.store.storeEach(points);
    // Counted per label set, not per event: prom-client hashes the labels of every inc().
    const counts = new Map<string, number>([['refused\tinvalid', body.length - points.length]]);
    let spooled = false;
    let retryLater: NotKept | undefined;
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i]!;
      const index = at[i]!;
      const key = isKept(outcome) ? KEPT_LABELS[outcome.kind] : `refused\t${reasonOf(outcome)}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (isKept(outcome)) {
        result.event_ids[index] = points[i]!.eventId!;
        spooled ||= outcome.kind === 'spooled';
        continue;
      }
      if (outcome.kind === 'spool_full' || outcome.kind === 'spool_unavailable')
        retryLater = outcome;
      reject(index, answerOf(outcome));
    }
    for (const [key, n] of counts) {
      const [outcome = '', reason = ''] = key.split('\t');
      this.metrics.events.inc({ outcome, reason }, n);
    }
    result.rejected.sort((a, b) => a.index - b.index);
    const keptDuplicates = duplicates.filter((index) => result.event_ids[index] !== null);
    if (keptDuplicates.length > 0) result.duplicates = keptDuplicates;

    const kept = result.event_ids.some((id) => id !== null);
    if (!kept && retryLater) throw answerOf(retryLater);
    if (!kept) throw new Refusal('', 'no event of the batch is valid', undefined, { ...result });
    return { result, outcome: spooled ? 'spooled' : 'stored' };
  }

  /**
   * The event with that id as one flat object (docs/API.md, "Reading an event back"), with where it is: still in the
   * spool (`queued`) or in InfluxDB (`stored`).
   */
  async findEvent(rawId: string): Promise<{ event: Record<string, unknown>; status: EventStatus }> {
    const id = rawId.trim();
    if (!EVENT_ID.test(id))
      throw new NotFoundException(`no event with id ${JSON.stringify(quote(id))}`);
    const found = await this.store.find(id, this.readPolicy);
    if (found.kind !== 'found') throw readAnswerOf(found, id);
    return { event: found.event, status: found.status };
  }

  /**
   * The point of one event object, and whether it is a resend; throws a Refusal. Every point is
   * stamped when it is made (EventStamper) and keeps that time through the spool and every retry.
   */
  private eventPoint(body: Record<string, unknown>): { point: Point; duplicate: boolean } {
    const parsed = parseEvent(body, this.config.limits);
    const { tableName, tagKeys } = this.config;
    if (parsed.eventId === undefined && parsed.time === undefined) {
      const point = eventToPoint(parsed, tableName, tagKeys, this.stamper.receiveTime());
      return { point, duplicate: false };
    }
    this.parsing = parsed;
    const point = eventToPoint(parsed, tableName, tagKeys, this.stampOf);
    return { point, duplicate: this.stamper.duplicate };
  }

  /** The event being made into a point, for stampOf (one closure per service, not per event). */
  private parsing?: ParsedEvent;
  private readonly stampOf = (tags: ReadonlyArray<readonly [string, string]>): bigint =>
    this.stamper.stampTime(this.parsing!.eventId, this.parsing!.time, this.config.tableName, tags);

  /** Runs `parse`; a Refusal it throws counts its `n` events as refused (invalid). */
  private refusedUnlessValid<T>(n: number, parse: () => T): T {
    try {
      return parse();
    } catch (error) {
      this.metrics.events.inc(
        { outcome: 'refused', reason: error instanceof Refusal ? 'invalid' : 'error' },
        n,
      );
      throw error;
    }
  }

  /** Counts `n` events by the store's outcome; throws the answer to one that kept nothing. */
  private kept(n: number, outcome: StoreOutcome): Kept {
    if (isKept(outcome)) {
      this.metrics.events.inc({ outcome: outcome.kind, reason: '' }, n);
      return outcome.kind;
    }
    this.metrics.events.inc({ outcome: 'refused', reason: reasonOf(outcome) }, n);
    throw answerOf(outcome);
  }
}

/** The label keys of kept events, made once (not a string per event). */
const KEPT_LABELS: Record<Kept, string> = { stored: 'stored\t', spooled: 'spooled\t' };

function isKept(outcome: StoreOutcome): outcome is Extract<StoreOutcome, { kind: Kept }> {
  return outcome.kind === 'stored' || outcome.kind === 'spooled';
}
