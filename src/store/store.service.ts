import { Inject, Injectable, Logger } from '@nestjs/common';
import { InfluxRefusedError } from '../influx/influx.errors';
import { InfluxService } from '../influx/influx.service';
import { FieldType, Point, toLine, TypedField } from '../influx/line-protocol';
import { spoolConfig, SpoolConfig } from '../spool/spool.config';
import { SpoolFullError, SpoolService } from '../spool/spool.service';
import { typeFields } from './field-typing';
import { SchemaService } from './schema.service';
import { SpoolDrainer } from './spool-drainer';
import { NotKeptError, TypeConflictError } from './store.errors';

/** Where accepted points went: InfluxDB (200) or the durable spool (202). */
export type Outcome = 'stored' | 'spooled';

class DeadlineExceeded extends Error {}

/**
 * Stores accepted points so that none is ever lost once acknowledged:
 * - typed by `typeFields` against the schema (SchemaService: InfluxDB's types and those of
 *   points waiting in the spool); a conflict is a TypeConflictError, whether InfluxDB is up,
 *   down or slow;
 * - written to InfluxDB through the group commit; resolves 'stored' once acknowledged;
 * - when InfluxDB is unavailable, answers 5xx, or has not acknowledged within
 *   WRITE_DEADLINE_MS, appended to the durable spool instead, their types recorded as known;
 *   resolves 'spooled' once the record is on disk (the drainer writes it later, at the same
 *   timestamps, so a write that was only slow is overwritten by the identical point);
 * - when the spool is full or cannot be written: NotKeptError, nothing kept.
 * A refusal by InfluxDB of anything else is thrown as its InfluxRefusedError.
 */
@Injectable()
export class StoreService {
  private readonly logger = new Logger(StoreService.name);

  constructor(
    private readonly influx: InfluxService,
    private readonly schema: SchemaService,
    private readonly spool: SpoolService,
    private readonly drainer: SpoolDrainer,
    @Inject(spoolConfig.KEY) private readonly config: SpoolConfig,
  ) {}

  /**
   * Stores the points as one unit: all stored, all spooled, or none (an error). `indexed`: the
   * points are an array body, a conflict names the index.
   */
  async store(points: readonly Point[], indexed: boolean): Promise<Outcome> {
    let fields: TypedField[][] | undefined;
    try {
      fields = await this.withDeadline(() => this.typed(points, indexed));
    } catch (error) {
      if (error instanceof TypeConflictError) throw error;
      // The types cannot be read in time: the spool path types against what is known.
    }
    if (fields) {
      try {
        await this.withDeadline((late) => this.write(points, fields, indexed, late));
        return 'stored';
      } catch (error) {
        if (error instanceof TypeConflictError || error instanceof InfluxRefusedError) throw error;
        this.logger.warn(`spooling ${points.length} point(s): ${reasonOf(error)}`);
      }
    }
    await this.toSpool(this.typedNow(points, indexed));
    return 'spooled';
  }

  /**
   * Stores each point on its own, sharing one InfluxDB submission while nothing goes wrong:
   * for a batch of events. Resolves per point to an outcome or the error that refused it.
   */
  async storeEach(points: readonly Point[]): Promise<Array<Outcome | Error>> {
    const outcomes: Array<Outcome | Error | undefined> = points.map(() => undefined);
    const typed: Array<{ i: number; fields: TypedField[] }> = [];
    let typesKnown = true;
    try {
      // One deadline for the whole batch: the types are read once per measurement.
      const each = await this.withDeadline(() => this.typedEach(points));
      each.forEach((result, i) => {
        if (result instanceof TypeConflictError) outcomes[i] = result;
        else typed.push({ i, fields: result });
      });
    } catch {
      // The types cannot be read in time: all of it goes to the spool.
      typesKnown = false;
    }

    if (typesKnown && typed.length > 0) {
      try {
        await this.withDeadline(() =>
          this.influx.write(typed.map((t) => toLine(points[t.i]!, t.fields))),
        );
        for (const t of typed) this.schema.remember(points[t.i]!.measurement, t.fields);
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
                  this.write([points[t.i]!], [t.fields], false, late),
                );
                outcomes[t.i] = 'stored';
              } catch (single) {
                if (single instanceof TypeConflictError || single instanceof InfluxRefusedError) {
                  outcomes[t.i] = single;
                }
              }
            }),
          );
        }
      }
    }

    // The rest goes to the spool, each point typed against what is known (the points spooled
    // before it included), a conflicting one refused on its own.
    const kept: Array<{ i: number; fields: TypedField[] }> = [];
    const added = new Map<string, Map<string, FieldType>>();
    for (const [i, point] of points.entries()) {
      if (outcomes[i] !== undefined) continue;
      try {
        kept.push({ i, fields: this.typedNow([point], false, added)[0]!.fields });
      } catch (error) {
        if (!(error instanceof TypeConflictError)) throw error;
        outcomes[i] = error;
      }
    }
    if (kept.length > 0) {
      try {
        await this.toSpool(kept.map((k) => ({ point: points[k.i]!, fields: k.fields })));
        for (const k of kept) outcomes[k.i] = 'spooled';
      } catch (error) {
        for (const k of kept) outcomes[k.i] = error as Error;
      }
    }
    return outcomes as Array<Outcome | Error>;
  }

  /**
   * Writes typed points. When InfluxDB refuses what the service's own check let through
   * (another writer changed the measurement since the types were read), the types are read
   * again: a real conflict is refused, a stale schema (say, a field another writer made an
   * integer) gets one more write with the right types, at the same timestamps. InfluxDB 1.x
   * keeps the valid points of a refused write, so a refused array is deleted again: an array is
   * all or nothing (docs/API.md, "Points"). Other failures are thrown as they come.
   */
  private async write(
    points: readonly Point[],
    fields: TypedField[][],
    indexed: boolean,
    late: () => boolean,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.influx.write(points.map((point, i) => toLine(point, fields[i]!)));
        break;
      } catch (error) {
        // Past the deadline the points were spooled: the drainer owns them now, and undoing a
        // partial write here could delete what it has already replayed.
        if (!(error instanceof InfluxRefusedError) || late()) throw error;
        if (points.length > 1) await this.undo(points);
        if (!error.conflict || attempt > 1) throw this.refusedBy(error, points, fields, indexed);
        await this.schema.refresh(error.conflict.measurement).catch(() => undefined);
        fields = await this.typed(points, indexed);
      }
    }
    for (const [i, point] of points.entries()) this.schema.remember(point.measurement, fields[i]!);
    this.drainer.nudge();
  }

  /**
   * Types every point against the schema (read from InfluxDB when not known yet) and against
   * the other points of the call. A conflict is checked once more against freshly read types
   * before it is refused, since the schema may be behind another writer; if they cannot be
   * read, what is known stands.
   */
  private async typed(points: readonly Point[], indexed: boolean): Promise<TypedField[][]> {
    const typed: TypedField[][] = [];
    const added = new Map<string, Map<string, FieldType>>();
    for (const [index, point] of points.entries()) {
      const stored = await this.schema.typesOf(point.measurement);
      const result = typeFields(point, stored, addedFor(added, point.measurement));
      if ('conflict' in result) {
        const refreshed = await this.schema.refresh(point.measurement, 1000).catch(() => false);
        if (refreshed) return this.typed(points, indexed);
        throw new TypeConflictError(result.conflict, indexed ? index : undefined);
      }
      typed.push(result.fields);
    }
    return typed;
  }

  /**
   * Types each point on its own (an event that conflicts must not make a later one refused),
   * each as `typed` would type it alone; a conflict is that point's TypeConflictError.
   */
  private async typedEach(
    points: readonly Point[],
  ): Promise<Array<TypedField[] | TypeConflictError>> {
    const results: Array<TypedField[] | TypeConflictError> = [];
    const types = new Map<string, ReadonlyMap<string, FieldType>>();
    // Each point alone: the types it adds are not seen by the next one (cleared, not remade).
    const added = new Map<string, FieldType>();
    for (const point of points) {
      let stored = types.get(point.measurement);
      if (stored === undefined) {
        stored = await this.schema.typesOf(point.measurement);
        types.set(point.measurement, stored);
      }
      added.clear();
      const result = typeFields(point, stored, added);
      if (!('conflict' in result)) {
        results.push(result.fields);
        continue;
      }
      // The slow path, with its fresh look at InfluxDB's types (which may change them).
      types.delete(point.measurement);
      try {
        results.push((await this.typed([point], false))[0]!);
      } catch (error) {
        if (!(error instanceof TypeConflictError)) throw error;
        results.push(error);
      }
    }
    return results;
  }

  /**
   * Types the points against what is known now, without asking InfluxDB: for the spool. `added`
   * holds the types of earlier points of the call (a batch's events spooled together).
   */
  private typedNow(
    points: readonly Point[],
    indexed: boolean,
    added = new Map<string, Map<string, FieldType>>(),
  ): Array<{ point: Point; fields: TypedField[] }> {
    return points.map((point, index) => {
      const stored = this.schema.known(point.measurement);
      const result = typeFields(point, stored, addedFor(added, point.measurement));
      if ('conflict' in result) {
        throw new TypeConflictError(result.conflict, indexed ? index : undefined);
      }
      return { point, fields: result.fields };
    });
  }

  /**
   * Appends the typed points to the spool as one record. Their types are recorded as known in
   * the same synchronous step as the append starts, so that a point typed after them (live or
   * spooled) is checked against them; resolves once the record and the schema are durable.
   */
  private async toSpool(typed: Array<{ point: Point; fields: TypedField[] }>): Promise<void> {
    for (const { point, fields } of typed) this.schema.rememberSpooled(point.measurement, fields);
    const appended = this.spool.append(typed.map((t) => t.point));
    // The spooled points are durable either way; a schema file that cannot be written is
    // logged by SchemaService and costs only what a restart during the outage would know.
    const saved = this.schema.save().catch(() => undefined);
    try {
      await appended;
    } catch (error) {
      if (error instanceof SpoolFullError) {
        throw new NotKeptError(
          'InfluxDB is unavailable and the spool is full (SPOOL_MAX_BYTES); nothing was stored, try again later',
          this.spool.retryAfterSeconds(),
          true,
        );
      }
      this.logger.error(`spool append failed: ${reasonOf(error)}`);
      throw new NotKeptError(
        'InfluxDB is unavailable and the spool cannot be written; nothing was stored, try again later',
        5,
        false,
      );
    }
    await saved;
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

  private async undo(points: readonly Point[]): Promise<void> {
    try {
      await this.influx.deletePoints(points);
    } catch (error) {
      // The points InfluxDB kept stay; the client is still told the array was refused.
      this.logger.error(`could not delete a refused array's stored points: ${reasonOf(error)}`);
    }
  }

  private refusedBy(
    error: InfluxRefusedError,
    points: readonly Point[],
    fields: TypedField[][],
    indexed: boolean,
  ): Error {
    const { conflict } = error;
    if (conflict) {
      const index = points.findIndex(
        (p, i) =>
          p.measurement === conflict.measurement &&
          fields[i]!.some((f) => f.key === conflict.field && f.type === conflict.incoming),
      );
      return new TypeConflictError(conflict, indexed && index >= 0 ? index : undefined);
    }
    // InfluxDB's message may quote the line, values included: it goes to debug only.
    this.logger.warn(`InfluxDB refused a write with ${error.status}`);
    this.logger.debug(`InfluxDB refused a write: ${error.message}`);
    return error;
  }
}

function addedFor(
  added: Map<string, Map<string, FieldType>>,
  measurement: string,
): Map<string, FieldType> {
  let types = added.get(measurement);
  if (!types) added.set(measurement, (types = new Map<string, FieldType>()));
  return types;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
