import {
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  PayloadTooLargeException,
} from '@nestjs/common';
import { FieldTypesService, typeFields } from '../influx/field-types.service';
import {
  FieldTypeConflict,
  InfluxRefusedError,
  InfluxUnavailableError,
} from '../influx/influx.errors';
import { InfluxService } from '../influx/influx.service';
import { FieldType, toLine, TypedPoint } from '../influx/line-protocol';
import { PointClock } from '../influx/point-clock';
import { RetryLaterException } from '../http/retry-later.exception';
import { EVENT_ID, parseEvent } from './event.dto';
import { eventToPoint, PointData } from './event-point';
import { eventsConfig, EventsConfig } from './events.config';
import { parsePoint } from './point.dto';
import { Refusal } from './refusal';

/** Seconds a client is asked to wait when InfluxDB cannot take a write. */
const RETRY_AFTER_SECONDS = 5;

/** The answer to a batch of events: ids aligned with the input, null where rejected. */
export interface BatchResult {
  event_ids: Array<string | null>;
  rejected: Array<{ index: number; reason: string }>;
}

@Injectable()
export class EventsService {
  private readonly logger = new Logger(EventsService.name);

  constructor(
    @Inject(eventsConfig.KEY) private readonly config: EventsConfig,
    private readonly influx: InfluxService,
    private readonly fieldTypes: FieldTypesService,
    private readonly clock: PointClock,
  ) {}

  /** Generation 1.0: one event object; resolves to its id once InfluxDB stored it. */
  async logEvent(body: Record<string, unknown>): Promise<string> {
    const parsed = parseEvent(body, this.config.limits);
    const point = eventToPoint(parsed, this.config.tableName, this.config.tagKeys);
    await this.store([point], false);
    return parsed.eventId;
  }

  /** Generation 1.1: an array of points, all valid or none stored (CONTRACT §5). */
  async logPoints(body: unknown[]): Promise<void> {
    if (body.length === 0) throw new Refusal('', 'the array holds no points');
    const points = body.map((element, index) => parsePoint(element, index, this.config.limits));
    await this.store(points, true);
  }

  /**
   * `POST /log/events`: each event stands alone. The valid ones are stored, the others are
   * reported with their index. 400 when none is valid; 503 when none could be stored because
   * InfluxDB is unavailable.
   */
  async logEvents(body: unknown[]): Promise<BatchResult> {
    const { maxBatchEvents } = this.config.limits;
    if (body.length > maxBatchEvents) {
      throw new PayloadTooLargeException(
        `a batch may hold at most ${maxBatchEvents} events (MAX_BATCH_EVENTS); this one has ${body.length}`,
      );
    }
    if (body.length === 0) throw new Refusal('', 'the array holds no events');
    const result: BatchResult = { event_ids: body.map(() => null), rejected: [] };
    const reject = (index: number, error: unknown) =>
      result.rejected.push({ index, reason: reasonOf(error) });

    const accepted: Array<{ index: number; id: string; point: PointData }> = [];
    for (const [index, element] of body.entries()) {
      try {
        if (typeof element !== 'object' || element === null || Array.isArray(element)) {
          throw new Refusal('', 'an event must be a JSON object');
        }
        const parsed = parseEvent(element as Record<string, unknown>, this.config.limits);
        const point = eventToPoint(parsed, this.config.tableName, this.config.tagKeys);
        accepted.push({ index, id: parsed.eventId, point });
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        reject(index, error);
      }
    }

    // Each event is typed on its own, so that a conflict refuses that event only.
    const ready: Array<{ index: number; id: string; point: PointData; typed: TypedPoint }> = [];
    for (const entry of accepted) {
      try {
        const [typed] = await this.typed([entry.point], false);
        ready.push({ ...entry, typed: typed! });
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        reject(entry.index, error);
      }
    }
    for (const entry of ready) entry.typed.time = this.clock.next();

    // One submission for the whole batch; only if InfluxDB refuses it is each event written on
    // its own (at the same timestamps, so what a partial write kept is overwritten, not doubled).
    let outcomes: Array<PromiseSettledResult<void>>;
    try {
      await this.influx.write(ready.map((entry) => toLine(entry.typed)));
      for (const { typed } of ready) this.fieldTypes.remember(typed.measurement, typed.fields);
      outcomes = ready.map(() => ({ status: 'fulfilled', value: undefined }));
    } catch (error) {
      if (!(error instanceof InfluxRefusedError)) throw this.unavailable(error);
      outcomes = await Promise.allSettled(
        ready.map((entry) => this.writeTyped([entry.point], [entry.typed], false)),
      );
    }
    let unavailable: RetryLaterException | undefined;
    outcomes.forEach((outcome, i) => {
      const { index, id } = ready[i]!;
      if (outcome.status === 'fulfilled') {
        result.event_ids[index] = id;
      } else if (outcome.reason instanceof RetryLaterException) {
        unavailable = outcome.reason;
        reject(index, 'InfluxDB is unavailable; this event was not stored, send it again');
      } else {
        reject(index, outcome.reason);
      }
    });
    result.rejected.sort((a, b) => a.index - b.index);

    const stored = result.event_ids.some((id) => id !== null);
    if (!stored && unavailable) throw unavailable;
    if (!stored) {
      throw new Refusal('', 'no event of the batch is valid', undefined, { ...result });
    }
    return result;
  }

  /** The stored event with that id, as one flat object (CONTRACT §6). */
  async findEvent(rawId: string): Promise<Record<string, unknown>> {
    const id = rawId.trim();
    if (!EVENT_ID.test(id)) throw new NotFoundException(`no event with id ${JSON.stringify(id)}`);
    // The id's alphabet has no quote, backslash or slash, so neither literal below can be
    // broken out of; ids from the server are lower-case, and `entry_` ids match in any case.
    const match = /^entry_/i.test(id) ? `=~ /(?i)^${id.replace(/\./g, '\\.')}$/` : `= '${id}'`;
    const measurement = this.config.tableName;
    const q = `SELECT * FROM "${measurement}" WHERE "event_id" ${match} ORDER BY time DESC LIMIT 1`;
    let results;
    try {
      results = await this.influx.query(q);
    } catch (error) {
      throw this.unavailable(error);
    }
    const [result] = results;
    if (result?.error && !/database not found/.test(result.error)) {
      throw new Error(`InfluxDB refused the event query: ${result.error}`);
    }
    const series = result?.series?.[0];
    const row = series?.values[0];
    if (!series || !row) throw new NotFoundException(`no event with id ${JSON.stringify(id)}`);
    const event: Record<string, unknown> = {};
    series.columns.forEach((column, i) => {
      // SELECT * lists every column of the measurement; other events' keys come back null.
      if (row[i] !== null && row[i] !== undefined) event[column] = row[i];
    });
    return event;
  }

  /**
   * Stores the points; resolves once InfluxDB acknowledged them all. Throws Refusal (400) for a
   * field type conflict, naming the field and both types, and RetryLaterException (503) when
   * InfluxDB cannot take the write.
   *
   * When InfluxDB refuses a write the service's own check let through (another writer changed
   * the measurement since the types were cached), the types are read again and the points
   * re-checked: a real conflict is refused, a stale cache (say, a field another writer made an
   * integer) gets one more write with the right types, at the same timestamps. InfluxDB 1.x
   * keeps the valid points of a refused write, so a refused array is deleted again: an array
   * is all or nothing (CONTRACT §5).
   */
  private async store(points: PointData[], indexed: boolean): Promise<void> {
    const typed = await this.typed(points, indexed);
    for (const point of typed) point.time = this.clock.next();
    await this.writeTyped(points, typed, indexed);
  }

  /** The write of `store`, for points already typed and stamped. */
  private async writeTyped(
    points: PointData[],
    typed: TypedPoint[],
    indexed: boolean,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.influx.write(typed.map(toLine));
        break;
      } catch (error) {
        if (!(error instanceof InfluxRefusedError)) throw this.unavailable(error);
        if (typed.length > 1) await this.undo(typed);
        if (!error.conflict || attempt > 1) throw this.refusedBy(error, typed, indexed);
        await this.fieldTypes.refresh(error.conflict.measurement).catch(() => undefined);
        const times = typed.map((point) => point.time);
        typed = await this.typed(points, indexed);
        typed.forEach((point, i) => (point.time = times[i]!));
      }
    }
    for (const point of typed) this.fieldTypes.remember(point.measurement, point.fields);
  }

  /**
   * Types every field against the types InfluxDB holds and against the other points of the
   * call. A conflict with cached types is checked once more against freshly read ones before
   * it is refused (Refusal, 400), since the cache may be behind another writer.
   */
  private async typed(points: PointData[], indexed: boolean): Promise<TypedPoint[]> {
    const typed: TypedPoint[] = [];
    const added = new Map<string, Map<string, FieldType>>();
    for (const [index, point] of points.entries()) {
      let addedHere = added.get(point.measurement);
      if (!addedHere) added.set(point.measurement, (addedHere = new Map<string, FieldType>()));
      const result = typeFields(
        point.measurement,
        point.fields,
        await this.typesOf(point),
        addedHere,
      );
      if ('conflict' in result && (await this.refreshTypes(point.measurement))) {
        return this.typed(points, indexed);
      }
      if ('conflict' in result) throw conflictRefusal(result.conflict, indexed ? index : undefined);
      typed.push({ ...point, fields: result.fields, time: 0n });
    }
    return typed;
  }

  private async typesOf(point: PointData): Promise<ReadonlyMap<string, FieldType>> {
    try {
      return await this.fieldTypes.typesOf(point.measurement);
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  /** Re-reads a measurement's types unless that happened in the last second. */
  private async refreshTypes(measurement: string): Promise<boolean> {
    try {
      return await this.fieldTypes.refresh(measurement, 1000);
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  private async undo(points: TypedPoint[]): Promise<void> {
    try {
      await this.influx.deletePoints(points);
    } catch (error) {
      // The points InfluxDB kept stay; the client is still told the array was refused.
      this.logger.error(`could not delete a refused array's stored points: ${reasonOf(error)}`);
    }
  }

  private refusedBy(error: InfluxRefusedError, points: TypedPoint[], indexed: boolean): Refusal {
    if (error.conflict) {
      return conflictRefusal(error.conflict, indexed ? indexOf(error.conflict, points) : undefined);
    }
    // InfluxDB's message may quote the line, values included: it goes to debug only.
    this.logger.warn(`InfluxDB refused a write with ${error.status}`);
    this.logger.debug(`InfluxDB refused a write: ${error.message}`);
    return new Refusal('', `InfluxDB refused the data (status ${error.status})`);
  }

  private unavailable(error: unknown): RetryLaterException {
    if (error instanceof RetryLaterException) return error;
    const reason = error instanceof Error ? error.message : String(error);
    if (error instanceof InfluxUnavailableError) this.logger.warn(reason);
    else this.logger.error(`InfluxDB failed: ${reason}`);
    return new RetryLaterException(
      'InfluxDB is unavailable; nothing was stored, try again later',
      RETRY_AFTER_SECONDS,
    );
  }
}

function indexOf(conflict: FieldTypeConflict, points: TypedPoint[]): number | undefined {
  const index = points.findIndex(
    (p) =>
      p.measurement === conflict.measurement &&
      p.fields.some((f) => f.key === conflict.field && f.type === conflict.incoming),
  );
  return index < 0 ? undefined : index;
}

function conflictRefusal(conflict: FieldTypeConflict, index?: number): Refusal {
  const key = index === undefined ? conflict.field : `fields.${conflict.field}`;
  const rule =
    `field type conflict: "${conflict.field}" of measurement "${conflict.measurement}" is ` +
    `stored as ${conflict.stored}, this value is ${conflict.incoming}`;
  return new Refusal(key, rule, index, { stored: conflict.stored, incoming: conflict.incoming });
}

function reasonOf(error: unknown): string {
  if (typeof error === 'string') return error;
  if (error instanceof Refusal) return (error.getResponse() as { message: string }).message;
  return error instanceof Error ? error.message : String(error);
}
