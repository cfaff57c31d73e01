import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { InfluxFailure } from '../influx/influx.answers';
import { influxConfig, InfluxConfig } from '../influx/influx.config';
import { InfluxService } from '../influx/influx.service';
import type { WritePart } from '../influx/line-protocol';
import { MetricsService } from '../metrics/metrics.service';
import { failureAt, GroupCommit, type WriteReport } from './group-commit';
import type { FieldTypeConflict, Point, TypedField } from './point';
import { SchemaService, type Typed } from './schema.service';
import { STORED, type Stored } from './store.outcomes';
import { WrittenTypes } from './written-types';

/** A submission to the group commit: its report to come, and its points' types. */
interface Submitted {
  readonly report: Promise<WriteReport>;
  readonly types: WrittenTypes;
}

/**
 * What became of a write: stored, refused for a conflict the fresh types show (`index`: the
 * point at fault), or what InfluxDB answered (refused for another reason, unavailable, or our
 * credentials refused).
 */
export type WriteOutcome =
  | Stored
  | { readonly kind: 'type_conflict'; readonly conflict: FieldTypeConflict; readonly index: number }
  | InfluxFailure;

type RefusedByInflux = InfluxFailure & { kind: 'refused' };

/**
 * A write leaves at once, a slot free, when this many lines are queued (GroupCommit): three
 * 100-event batches.
 */
const EAGER_LINES = 300;

/** Whether the caller still waits for the outcome (store/deadline.ts). */
interface Waiting {
  readonly expired: boolean;
}

const STILL_WAITING: Waiting = { expired: false };

/**
 * The one writer to InfluxDB, for the live path and the replay alike, and the one retry policy:
 * - writes share InfluxDB requests (GroupCommit), which narrows a refusal down to the points at
 *   fault (a whole points array, or one event of a batch or a replay);
 * - the service refuses conflicts with its own schema before writing, so a refusal means the
 *   schema was behind another writer (or InfluxDB refuses for a reason of its own): the
 *   refused points are typed again against fresh types (SchemaService.type). A conflict then
 *   is ours, a typed value; the others are written once more, at the same timestamps (a field
 *   another writer made an integer takes integral values), and a second refusal stands;
 * - InfluxDB 1.x keeps the valid points of a write it refuses in part, so a refused points
 *   array is deleted again: an array is all or nothing.
 * Measures every InfluxDB write (stats_influx_write_*) and counts every refusal of the
 * credentials (stats_influx_credentials_refused_total), remembers the types InfluxDB took, and
 * tells its listeners (the drainer, backing off) when a write succeeded.
 */
@Injectable()
export class PointWriter implements OnApplicationShutdown {
  private readonly logger = new Logger(PointWriter.name);
  private readonly commit: GroupCommit;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly influx: InfluxService,
    private readonly schema: SchemaService,
    private readonly metrics: MetricsService,
    @Inject(influxConfig.KEY) config: InfluxConfig,
  ) {
    this.commit = new GroupCommit((parts) => this.send(parts), {
      maxLines: config.batchLines,
      maxInFlight: influx.maxConcurrentWrites,
      eagerLines: Math.min(EAGER_LINES, config.batchLines),
    });
    // Queries too: with wrong credentials the schema cannot be read, and nothing is written.
    influx.credentials.onRefused(() => metrics.influxCredentialsRefused.inc());
  }

  async onApplicationShutdown(): Promise<void> {
    await this.commit.drain();
  }

  /** Calls `listener` after each write InfluxDB acknowledged. */
  onStored(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Writes the points all or nothing. Once `waiting` has expired (the points were spooled) a
   * refusal is left as it is: the drainer owns them, and an undo could delete what it replayed.
   */
  async writeAll(
    points: readonly Point[],
    fields: ReadonlyArray<readonly TypedField[]>,
    waiting: Waiting = STILL_WAITING,
  ): Promise<WriteOutcome> {
    const first = await this.written(this.submit(points, fields, false));
    if (first === undefined) return STORED;
    const failure = first as InfluxFailure;
    if (failure.kind !== 'refused' || waiting.expired) return failure;
    await this.undo(points);
    const typed = await this.schema.type(points, 'fresh');
    if (!Array.isArray(typed)) return this.refused(failure);
    const at = typed.findIndex(isConflict);
    if (at >= 0)
      return { kind: 'type_conflict', conflict: typed[at] as FieldTypeConflict, index: at };
    const second = await this.written(this.submit(points, typed as TypedField[][], false));
    if (second === undefined) return STORED;
    const again = second as InfluxFailure;
    if (again.kind !== 'refused' || waiting.expired) return again;
    await this.undo(points);
    return this.refused(again);
  }

  /**
   * Writes the points each on its own: one outcome per point, in order. Not an async function:
   * the typed fields are let go of once rendered, where a suspended async frame would hold its
   * arguments until the write is answered (docs/PERFORMANCE.md, "Holding less in flight").
   */
  writeEach(
    points: readonly Point[],
    fields: ReadonlyArray<readonly TypedField[]>,
  ): Promise<WriteOutcome[]> {
    return this.settleEach(points, this.submit(points, fields, true));
  }

  /** The outcomes of a write of points each on its own; a refused point is typed again. */
  private async settleEach(
    points: readonly Point[],
    submitted: Submitted,
  ): Promise<WriteOutcome[]> {
    const outcomes = outcomesOf(points.length, await this.written(submitted));
    const refused: number[] = [];
    outcomes.forEach((outcome, i) => outcome.kind === 'refused' && refused.push(i));
    if (refused.length === 0) return outcomes;
    const typed = await this.schema.type(
      refused.map((i) => points[i]!),
      'fresh',
      true,
    );
    const retry: number[] = [];
    const retyped: TypedField[][] = [];
    refused.forEach((i, j) => {
      const result = Array.isArray(typed) ? typed[j] : undefined;
      if (result === undefined) outcomes[i] = this.refused(outcomes[i] as RefusedByInflux);
      else if (isConflict(result))
        outcomes[i] = { kind: 'type_conflict', conflict: result, index: i };
      else {
        retry.push(i);
        retyped.push(result);
      }
    });
    if (retry.length === 0) return outcomes;
    const again = outcomesOf(
      retry.length,
      await this.written(
        this.submit(
          retry.map((i) => points[i]!),
          retyped,
          true,
        ),
      ),
    );
    retry.forEach((i, j) => {
      const outcome = again[j]!;
      outcomes[i] = outcome.kind === 'refused' ? this.refused(outcome) : outcome;
    });
    return outcomes;
  }

  /** The points' lines handed to the group commit, and their types, for once it answers. */
  private submit(
    points: readonly Point[],
    fields: ReadonlyArray<readonly TypedField[]>,
    each: boolean,
  ): Submitted {
    const types = new WrittenTypes(points, fields);
    return { report: this.commit.write(this.influx.render(points, fields), each), types };
  }

  /** What became of a submission; the types of the points InfluxDB took are remembered. */
  private async written({ report, types }: Submitted): Promise<WriteReport> {
    const answer = await report;
    types.forEachStored(
      (i) => failureAt(answer, i) === undefined,
      (measurement, fields) => this.schema.remember(measurement, fields),
    );
    return answer;
  }

  /** A refusal no type explains: InfluxDB's message may quote values, so it goes to debug. */
  private refused(failure: RefusedByInflux): InfluxFailure {
    this.logger.warn(`InfluxDB refused a write with ${failure.status}`);
    this.logger.debug(`InfluxDB refused a write: ${failure.detail}`);
    return failure;
  }

  /** Deletes what InfluxDB kept of a refused points array (a single point it kept nothing of). */
  private async undo(points: readonly Point[]): Promise<void> {
    if (points.length < 2) return;
    const failure = await this.influx.deletePoints(points);
    // The points InfluxDB kept stay; the client is still told the array was refused.
    if (failure)
      this.logger.error(`could not delete a refused array's stored points (${failure.kind})`);
  }

  /** One InfluxDB write, measured: latency, lines, failures by kind. */
  private async send(parts: readonly WritePart[]): Promise<InfluxFailure | undefined> {
    let lines = 0;
    for (const part of parts) lines += part.end - part.start;
    this.metrics.influxBatchLines.observe(lines);
    const stop = this.metrics.influxWriteDuration.startTimer();
    const failure = await this.influx.write(parts);
    stop();
    if (failure) this.metrics.influxWriteFailures.inc({ kind: failure.kind });
    else for (const listener of this.listeners) listener();
    return failure;
  }
}

/** A report as one outcome per point. */
function outcomesOf(count: number, report: WriteReport): WriteOutcome[] {
  const outcomes = new Array<WriteOutcome>(count);
  for (let i = 0; i < count; i++) outcomes[i] = failureAt(report, i) ?? STORED;
  return outcomes;
}

function isConflict(typed: Typed): typed is FieldTypeConflict {
  return !Array.isArray(typed);
}
