import { Inject, Injectable, Logger } from '@nestjs/common';
import { describeFailure, type InfluxFailure } from '../influx/influx.answers';
import { spoolConfig, SpoolConfig } from '../spool/spool.config';
import { SpoolService } from '../spool/spool.service';
import { Deadline, LATE } from './deadline';
import { EventReader, type ReadPolicy } from './event-reader';
import type { Point, TypedField } from './point';
import { PointWriter, type WriteOutcome } from './point-writer';
import { SchemaService, type Typed } from './schema.service';
import { SPOOLED, type NotKept, type ReadOutcome, type StoreOutcome } from './store.outcomes';

/** Retry-After when the spool cannot be written: a disk error may clear soon, or not. */
const UNWRITABLE_RETRY_SECONDS = 5;

/**
 * The store, as events/ sees it: points in, outcomes out (store.outcomes.ts), and events read
 * back. Accepted points are never lost once acknowledged:
 * - typed against the schema (SchemaService.type: InfluxDB's types and those of points waiting
 *   in the spool); a conflict is refused, whether InfluxDB is up, down or slow;
 * - written to InfluxDB (PointWriter: group commit, and what to do when InfluxDB refuses);
 *   `stored` once acknowledged;
 * - when InfluxDB is unavailable, refuses our credentials, or has not answered within
 *   WRITE_DEADLINE_MS (one deadline for typing and writing), appended to the durable spool
 *   instead, their types recorded as known; `spooled` once the record is on disk (the drainer
 *   writes it later, at the same timestamps, so a write that was only slow is overwritten by
 *   the identical point);
 * - when the spool is full or cannot be written: nothing kept, and which of the two.
 */
@Injectable()
export class StoreService {
  private readonly logger = new Logger(StoreService.name);

  constructor(
    private readonly schema: SchemaService,
    private readonly writer: PointWriter,
    private readonly spool: SpoolService,
    private readonly reader: EventReader,
    @Inject(spoolConfig.KEY) private readonly config: SpoolConfig,
  ) {}

  /**
   * Stores the points as one unit: all stored, all spooled, or none kept. `indexed`: the points
   * are an array body, so a conflict names its index.
   */
  async store(points: readonly Point[], indexed: boolean): Promise<StoreOutcome> {
    const deadline = new Deadline(this.config.writeDeadlineMs);
    try {
      const typed = await deadline.race(this.schema.type(points, 'influx'));
      if (typed !== LATE && Array.isArray(typed)) {
        const conflict = firstConflict(typed, indexed);
        if (conflict) return conflict;
        const written = await deadline.race(
          this.writer.writeAll(points, typed as TypedField[][], deadline),
        );
        if (written === LATE) this.spooling(points.length, 'no answer within WRITE_DEADLINE_MS');
        else if (isOutage(written)) this.spooling(points.length, describeFailure(written));
        else return answered(written, indexed);
      }
    } finally {
      deadline.clear();
    }
    const typed = await this.schema.type(points, 'known');
    if (!Array.isArray(typed)) return unwritable();
    return firstConflict(typed, indexed) ?? this.toSpool(points, typed as TypedField[][]);
  }

  /**
   * Stores each point on its own (a batch of events), sharing InfluxDB writes while nothing
   * goes wrong: one outcome per point, in order.
   */
  async storeEach(points: readonly Point[]): Promise<StoreOutcome[]> {
    const outcomes = new Array<StoreOutcome | undefined>(points.length).fill(undefined);
    const deadline = new Deadline(this.config.writeDeadlineMs);
    try {
      // Typed and handed to the writer in one step: this frame never holds the typed fields
      // while the write is in flight (docs/PERFORMANCE.md, "Holding less in flight").
      const submitted = await deadline.race(
        this.schema
          .type(points, 'influx', true)
          .then((typed) => this.submitEach(points, typed, outcomes)),
      );
      if (submitted !== LATE && submitted !== undefined) {
        const written = await deadline.race(submitted.written);
        if (written === LATE) this.spooling(submitted.count, 'no answer within WRITE_DEADLINE_MS');
        else {
          written.forEach((outcome, j) => {
            if (!isOutage(outcome)) outcomes[at(submitted.where, j)] = answered(outcome, false);
          });
        }
      }
    } finally {
      deadline.clear();
    }
    const rest: Point[] = [];
    const restAt: number[] = [];
    outcomes.forEach(
      (outcome, i) => outcome === undefined && (rest.push(points[i]!), restAt.push(i)),
    );
    if (rest.length > 0) {
      const typed = await this.schema.type(rest, 'known');
      const kept = Array.isArray(typed) ? keepTyped(rest, typed, outcomes, restAt) : undefined;
      if (kept === undefined || kept.points.length > 0) {
        const spooled = kept ? await this.toSpool(kept.points, kept.fields) : unwritable();
        restAt.forEach((i) => (outcomes[i] ??= spooled));
      }
    }
    return outcomes as StoreOutcome[];
  }

  /** The event with that id, from the spool's index or from InfluxDB. */
  find(id: string, policy: ReadPolicy): Promise<ReadOutcome> {
    return this.reader.find(id, policy);
  }

  /**
   * The points that typed without conflict, handed to the writer (a conflict gets its outcome);
   * undefined when the types could not be read. What it returns holds no typed field.
   */
  private submitEach(
    points: readonly Point[],
    typed: Typed[] | InfluxFailure,
    outcomes: Array<StoreOutcome | undefined>,
  ): { written: Promise<WriteOutcome[]>; count: number; where?: readonly number[] } | undefined {
    if (!Array.isArray(typed)) return undefined;
    const kept = keepTyped(points, typed, outcomes);
    const count = kept.points.length;
    const written =
      count > 0 ? this.writer.writeEach(kept.points, kept.fields) : Promise.resolve([]);
    return { written, count, where: kept.where };
  }

  /**
   * Appends the typed points to the spool as one record. Their types are recorded as known in
   * the same synchronous step as the append starts, so that a point typed after them (live or
   * spooled) is checked against them; resolves once the record and the schema are durable.
   */
  private async toSpool(
    points: readonly Point[],
    fields: ReadonlyArray<readonly TypedField[]>,
  ): Promise<StoreOutcome> {
    points.forEach((point, i) => this.schema.rememberSpooled(point.measurement, fields[i]!));
    const appended = this.spool.append(points);
    // The spooled points are durable either way; a schema file that cannot be written is
    // logged by SchemaService and costs only what a restart during the outage would know.
    const saved = this.schema.save().catch(() => undefined);
    const failure = await appended;
    if (failure === 'full') {
      return { kind: 'spool_full', retryAfterSeconds: this.spool.retryAfterSeconds() };
    }
    if (failure === 'unwritable') return unwritable();
    await saved;
    return SPOOLED;
  }

  private spooling(count: number, why: string): void {
    this.logger.warn(`spooling ${count} point(s): ${why}`);
  }
}

/** An outcome of the writer after which the points go to the spool. */
function isOutage(outcome: WriteOutcome): outcome is InfluxFailure {
  return outcome.kind === 'unavailable' || outcome.kind === 'credentials';
}

/** The writer's answer as the store's: a conflict names its index only for an array body. */
function answered(outcome: WriteOutcome, indexed: boolean): StoreOutcome {
  switch (outcome.kind) {
    case 'type_conflict':
      return indexed
        ? { kind: 'type_conflict', conflict: outcome.conflict, index: outcome.index }
        : { kind: 'type_conflict', conflict: outcome.conflict };
    case 'refused':
      return { kind: 'refused', status: outcome.status };
    default:
      return outcome as StoreOutcome;
  }
}

/**
 * The points that typed without conflict, with their fields, and where each sits among the
 * points given (`where`; undefined when all did and no `positions` were given); a conflicting
 * one gets its outcome, at `positions[i]` or `i`. Loops, not closures: what it returns holds
 * nothing but what it names.
 */
function keepTyped(
  points: readonly Point[],
  typed: readonly Typed[],
  outcomes: Array<StoreOutcome | undefined>,
  positions?: readonly number[],
): { points: readonly Point[]; fields: TypedField[][]; where?: readonly number[] } {
  let all = true;
  for (let i = 0; i < typed.length && all; i++) all = Array.isArray(typed[i]);
  if (all) return { points, fields: typed as TypedField[][], where: positions };
  const kept: Point[] = [];
  const fields: TypedField[][] = [];
  const where: number[] = [];
  for (let i = 0; i < typed.length; i++) {
    const result = typed[i]!;
    const position = positions?.[i] ?? i;
    if (Array.isArray(result)) {
      kept.push(points[i]!);
      fields.push(result);
      where.push(position);
    } else {
      outcomes[position] = { kind: 'type_conflict', conflict: result };
    }
  }
  return { points: kept, fields, where };
}

/** Where the j-th of the kept points sits (keepTyped's `where`). */
function at(where: readonly number[] | undefined, j: number): number {
  return where === undefined ? j : where[j]!;
}

function firstConflict(typed: readonly Typed[], indexed: boolean): NotKept | undefined {
  const at = typed.findIndex((result) => !Array.isArray(result));
  if (at < 0) return undefined;
  const conflict = typed[at] as Exclude<Typed, TypedField[]>;
  return indexed
    ? { kind: 'type_conflict', conflict, index: at }
    : { kind: 'type_conflict', conflict };
}

function unwritable(): NotKept {
  return { kind: 'spool_unavailable', retryAfterSeconds: UNWRITABLE_RETRY_SECONDS };
}
