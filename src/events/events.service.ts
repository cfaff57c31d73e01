import { Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { FieldTypesService, typeFields } from '../influx/field-types.service';
import {
  InfluxRefusedError,
  InfluxUnavailableError,
  FieldTypeConflict,
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
   * Types every field against what InfluxDB holds, stamps each point, and resolves once
   * InfluxDB acknowledged them all. Throws Refusal (400) for a type conflict, naming the field
   * and both types, and RetryLaterException (503) when InfluxDB cannot take the write.
   */
  private async store(points: PointData[], indexed: boolean): Promise<void> {
    const typed: TypedPoint[] = [];
    const added = new Map<string, Map<string, FieldType>>();
    try {
      for (const [index, point] of points.entries()) {
        const stored = await this.fieldTypes.typesOf(point.measurement);
        let addedHere = added.get(point.measurement);
        if (!addedHere) added.set(point.measurement, (addedHere = new Map<string, FieldType>()));
        const result = typeFields(point.measurement, point.fields, stored, addedHere);
        if ('conflict' in result)
          throw conflictRefusal(result.conflict, indexed ? index : undefined);
        typed.push({
          measurement: point.measurement,
          tags: point.tags,
          fields: result.fields,
          time: 0n,
        });
      }
    } catch (error) {
      if (error instanceof Refusal) throw error;
      throw this.unavailable(error);
    }
    for (const point of typed) point.time = this.clock.next();

    try {
      await this.influx.write(typed.map(toLine));
    } catch (error) {
      if (error instanceof InfluxRefusedError) throw await this.refused(error, typed, indexed);
      throw this.unavailable(error);
    }
    for (const point of typed) this.fieldTypes.remember(point.measurement, point.fields);
  }

  private async refused(
    error: InfluxRefusedError,
    points: TypedPoint[],
    indexed: boolean,
  ): Promise<Error> {
    if (error.conflict) {
      // Another writer got there first; learn the types it stored before answering.
      await this.fieldTypes.refresh(error.conflict.measurement).catch(() => undefined);
      const index = indexed ? this.indexOf(error.conflict, points) : undefined;
      return conflictRefusal(error.conflict, index);
    }
    this.logger.warn(`InfluxDB refused a write (${error.status}): ${error.message}`);
    return new Refusal('', `InfluxDB refused the data: ${error.message}`);
  }

  private indexOf(conflict: FieldTypeConflict, points: TypedPoint[]): number | undefined {
    const index = points.findIndex(
      (p) =>
        p.measurement === conflict.measurement &&
        p.fields.some((f) => f.key === conflict.field && f.type === conflict.incoming),
    );
    return index < 0 ? undefined : index;
  }

  private unavailable(error: unknown): RetryLaterException {
    const reason = error instanceof Error ? error.message : String(error);
    if (!(error instanceof InfluxUnavailableError)) {
      this.logger.error(`InfluxDB failed: ${reason}`);
    } else {
      this.logger.warn(reason);
    }
    return new RetryLaterException(
      'InfluxDB is unavailable; nothing was stored, try again later',
      RETRY_AFTER_SECONDS,
    );
  }
}

function conflictRefusal(conflict: FieldTypeConflict, index?: number): Refusal {
  const key = index === undefined ? conflict.field : `fields.${conflict.field}`;
  const rule =
    `field type conflict: "${conflict.field}" of measurement "${conflict.measurement}" is ` +
    `stored as ${conflict.stored}, this value is ${conflict.incoming}`;
  return new Refusal(key, rule, index, { stored: conflict.stored, incoming: conflict.incoming });
}
