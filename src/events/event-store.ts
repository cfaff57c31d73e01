import { Inject, Injectable, Logger } from '@nestjs/common';
import { FieldTypesService, typeFields } from '../influx/field-types.service';
import { FieldTypeConflict, InfluxRefusedError } from '../influx/influx.errors';
import { InfluxService } from '../influx/influx.service';
import { FieldType, toLine, TypedPoint } from '../influx/line-protocol';
import { PointClock } from '../influx/point-clock';
import { RetryLaterException } from '../http/retry-later.exception';
import { SpooledPoint } from '../spool/spool-record';
import { SpoolDrainer } from '../spool/spool.drainer';
import { SpoolFullError, SpoolService } from '../spool/spool.service';
import { spoolConfig, SpoolConfig } from '../spool/spool.config';
import { eventsConfig, EventsConfig } from './events.config';
import { PointData } from './event-point';
import { Refusal } from './refusal';
import { quote } from './quote';

/** Where an accepted point went: InfluxDB (200) or the durable spool (202). */
export type Outcome = 'stored' | 'spooled';

/** A point to store, with the id of the event it carries (points of the 1.1 API have none). */
export interface Pending {
  point: PointData;
  eventId?: string;
}

class DeadlineExceeded extends Error {}

/**
 * Stores accepted points so that none is ever lost once acknowledged:
 * - typed against the field types InfluxDB holds (a conflict is refused with 400);
 * - written to InfluxDB through the group commit; resolves 'stored' once acknowledged;
 * - when InfluxDB is unavailable, answers 5xx, or has not acknowledged within
 *   WRITE_DEADLINE_MS, appended to the durable spool instead; resolves 'spooled' once the
 *   record is on disk (the drainer writes it later, at the same timestamps, so a write that
 *   was only slow is overwritten by the identical point, not doubled);
 * - when the spool is full: 503 with Retry-After, nothing kept.
 */
@Injectable()
export class EventStore {
  private readonly logger = new Logger(EventStore.name);

  constructor(
    private readonly influx: InfluxService,
    private readonly fieldTypes: FieldTypesService,
    private readonly clock: PointClock,
    private readonly spool: SpoolService,
    private readonly drainer: SpoolDrainer,
    @Inject(spoolConfig.KEY) private readonly config: SpoolConfig,
    @Inject(eventsConfig.KEY) private readonly events: EventsConfig,
  ) {}

  /**
   * Stores the points as one unit: all stored, all spooled, or none (Refusal or
   * RetryLaterException). `indexed`: the points are an array body, refusals name the index.
   */
  async store(pending: Pending[], indexed: boolean): Promise<Outcome> {
    const points = pending.map((p) => p.point);
    const typed = await this.typedOrUnknown(points, indexed);
    const times = points.map(() => this.clock.next());
    if (typed) {
      typed.forEach((point, i) => (point.time = times[i]!));
      try {
        await this.withDeadline((late) => this.write(points, typed, indexed, late));
        return 'stored';
      } catch (error) {
        if (error instanceof Refusal) throw error;
        this.logger.warn(`spooling ${points.length} point(s): ${reasonOf(error)}`);
      }
    }
    await this.toSpool(
      pending.map((p, i) => ({ ...p.point, time: times[i]!, eventId: p.eventId })),
    );
    return 'spooled';
  }

  /**
   * Stores each unit on its own, sharing one InfluxDB submission while nothing goes wrong:
   * for a batch of events. Resolves per unit to an outcome or the error that refused it.
   */
  async storeEach(pending: Pending[]): Promise<Array<Outcome | Error>> {
    const outcomes: Array<Outcome | Error | undefined> = pending.map(() => undefined);
    const typed: Array<{ i: number; typed: TypedPoint }> = [];
    let typesKnown = true;
    for (const [i, { point }] of pending.entries()) {
      // Once the types cannot be read, the rest goes to the spool untyped without waiting for
      // another deadline each.
      if (!typesKnown) continue;
      try {
        const points = await this.typedOrUnknown([point], false);
        if (points) typed.push({ i, typed: points[0]! });
        else typesKnown = false;
      } catch (error) {
        outcomes[i] = error as Error;
      }
    }
    const accepted = pending.map((_, i) => i).filter((i) => outcomes[i] === undefined);
    const times = new Map(accepted.map((i) => [i, this.clock.next()]));
    for (const entry of typed) entry.typed.time = times.get(entry.i)!;

    if (typesKnown && typed.length > 0) {
      try {
        await this.withDeadline(() => this.influx.write(typed.map((t) => toLine(t.typed))));
        for (const t of typed) this.fieldTypes.remember(t.typed.measurement, t.typed.fields);
        for (const t of typed) outcomes[t.i] = 'stored';
        this.drainer.nudge();
        return outcomes as Array<Outcome | Error>;
      } catch (error) {
        if (error instanceof InfluxRefusedError) {
          // Find the events at fault: each on its own, at the same timestamps.
          await Promise.all(
            typed.map(async (t) => {
              try {
                await this.withDeadline((late) =>
                  this.write([pending[t.i]!.point], [t.typed], false, late),
                );
                outcomes[t.i] = 'stored';
              } catch (single) {
                if (single instanceof Refusal) outcomes[t.i] = single;
              }
            }),
          );
        }
      }
    }
    const rest = accepted.filter((i) => outcomes[i] === undefined);
    if (rest.length > 0) {
      try {
        await this.toSpool(
          rest.map((i) => ({
            ...pending[i]!.point,
            time: times.get(i)!,
            eventId: pending[i]!.eventId,
          })),
        );
        for (const i of rest) outcomes[i] = 'spooled';
      } catch (error) {
        for (const i of rest) outcomes[i] = error as Error;
      }
    }
    return outcomes as Array<Outcome | Error>;
  }

  /**
   * Writes typed, stamped points. When InfluxDB refuses what the service's own check let
   * through (another writer changed the measurement since the types were cached), the types
   * are read again: a real conflict is refused, a stale cache (say, a field another writer made
   * an integer) gets one more write with the right types, at the same timestamps. InfluxDB 1.x
   * keeps the valid points of a refused write, so a refused array is deleted again: an array
   * is all or nothing (README "The API"). Other failures are thrown as they come.
   */
  private async write(
    points: PointData[],
    typed: TypedPoint[],
    indexed: boolean,
    late: () => boolean,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.influx.write(typed.map(toLine));
        break;
      } catch (error) {
        // Past the deadline the points were spooled: the drainer owns them now, and undoing a
        // partial write here could delete what it has already replayed.
        if (!(error instanceof InfluxRefusedError) || late()) throw error;
        if (typed.length > 1) await this.undo(typed);
        if (!error.conflict || attempt > 1) throw this.refusedBy(error, typed, indexed);
        await this.fieldTypes.refresh(error.conflict.measurement).catch(() => undefined);
        const times = typed.map((point) => point.time);
        typed = await this.typed(points, indexed);
        typed.forEach((point, i) => (point.time = times[i]!));
      }
    }
    for (const point of typed) this.fieldTypes.remember(point.measurement, point.fields);
    this.drainer.nudge();
  }

  /**
   * The typed points, or undefined when the types cannot be read within WRITE_DEADLINE_MS
   * (InfluxDB unavailable): the spool keeps points untyped and the drainer types them once
   * InfluxDB answers. Even then the points must agree with each other (an array whose elements
   * disagree is refused now, not half stored later).
   */
  private async typedOrUnknown(
    points: PointData[],
    indexed: boolean,
  ): Promise<TypedPoint[] | undefined> {
    try {
      return await this.withDeadline(() => this.typed(points, indexed));
    } catch (error) {
      if (error instanceof Refusal) throw error;
      const added = new Map<string, Map<string, FieldType>>();
      for (const [index, point] of points.entries()) {
        let addedHere = added.get(point.measurement);
        if (!addedHere) added.set(point.measurement, (addedHere = new Map<string, FieldType>()));
        const result = typeFields(point, new Map(), addedHere, this.events.tableName);
        if ('conflict' in result) {
          throw conflictRefusal(result.conflict, indexed ? index : undefined);
        }
      }
      return undefined;
    }
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
      const stored = await this.fieldTypes.typesOf(point.measurement);
      const result = typeFields(point, stored, addedHere, this.events.tableName);
      // A conflict with what is cached is checked against fresh types; if they cannot be read,
      // the cache is the best knowledge there is, and the conflict stands.
      const refreshed =
        'conflict' in result &&
        (await this.fieldTypes.refresh(point.measurement, 1000).catch(() => false));
      if (refreshed) return this.typed(points, indexed);
      if ('conflict' in result) throw conflictRefusal(result.conflict, indexed ? index : undefined);
      typed.push({ ...point, fields: result.fields, time: 0n });
    }
    return typed;
  }

  private async toSpool(points: SpooledPoint[]): Promise<void> {
    try {
      await this.spool.append(points);
    } catch (error) {
      if (error instanceof SpoolFullError) {
        throw new RetryLaterException(
          'InfluxDB is unavailable and the spool is full (SPOOL_MAX_BYTES); nothing was stored, try again later',
          this.spool.retryAfterSeconds(),
        );
      }
      this.logger.error(`spool append failed: ${reasonOf(error)}`);
      throw new RetryLaterException(
        'InfluxDB is unavailable and the spool cannot be written; nothing was stored, try again later',
        5,
      );
    }
  }

  /**
   * Rejects with DeadlineExceeded after WRITE_DEADLINE_MS; the work itself goes on, and can ask
   * `late()` whether its caller has given up on it.
   */
  private withDeadline<T>(run: (late: () => boolean) => Promise<T>): Promise<T> {
    let expired = false;
    const write = run(() => expired);
    write.catch(() => undefined); // settled later, or never looked at: no unhandled rejection
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        expired = true;
        const ms = this.config.writeDeadlineMs;
        reject(new DeadlineExceeded(`InfluxDB did not acknowledge within ${ms} ms`));
      }, this.config.writeDeadlineMs);
    });
    return Promise.race([write, deadline]).finally(() => clearTimeout(timer));
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
    `field type conflict: "${quote(conflict.field)}" of measurement "${quote(conflict.measurement)}" is ` +
    `stored as ${conflict.stored}, this value is ${conflict.incoming}`;
  return new Refusal(key, rule, index, { stored: conflict.stored, incoming: conflict.incoming });
}

export function reasonOf(error: unknown): string {
  if (typeof error === 'string') return error;
  if (error instanceof Refusal) return (error.getResponse() as { message: string }).message;
  return error instanceof Error ? error.message : String(error);
}
