import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { InfluxRefusedError } from '../influx/influx.errors';
import { describe, InfluxService } from '../influx/influx.service';
import { FieldType, Point, toLine, TypedField } from '../influx/line-protocol';
import { MetricsService } from '../metrics/metrics.service';
import { spoolConfig, SpoolConfig } from '../spool/spool.config';
import { SpoolService } from '../spool/spool.service';
import { typeFields } from './field-typing';
import { SchemaService } from './schema.service';

interface Typed {
  point: Point;
  fields: TypedField[];
}

/** Points replayed per InfluxDB write. */
const REPLAY_POINTS = 5000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;
/** How often an idle drainer looks again, besides being woken by an append. */
const IDLE_MS = 1000;

/**
 * Replays the spool to InfluxDB in order, in batches, no faster than
 * SPOOL_DRAIN_LINES_PER_SECOND, with exponential backoff and full jitter while InfluxDB is
 * unavailable. Spool space is freed only after InfluxDB acknowledged the points. The points are
 * typed by the same `typeFields` as the live path. A point that InfluxDB refuses for good (a
 * field type conflict that appeared after it was accepted) goes to the dead-letter file, once,
 * rather than blocking the points behind it.
 */
@Injectable()
export class SpoolDrainer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SpoolDrainer.name);
  private stopped = false;
  /** What the drainer is waiting for, and how to end the wait early. */
  private sleeping?: { reason: 'idle' | 'pace' | 'backoff'; wake: () => void };
  private running?: Promise<void>;
  private unsubscribe?: () => void;
  private failures = 0;

  constructor(
    private readonly spool: SpoolService,
    private readonly influx: InfluxService,
    private readonly schema: SchemaService,
    @Inject(spoolConfig.KEY) private readonly config: SpoolConfig,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    // An append ends an idle wait only: never the pacing of the rate cap, nor a backoff.
    this.unsubscribe = this.spool.onAppend(() => this.wakeFrom('idle'));
    this.running = this.loop();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.sleeping?.wake();
    await this.running;
  }

  /** A write to InfluxDB just succeeded: if the drainer is backing off, try again now. */
  nudge(): void {
    this.wakeFrom('backoff');
  }

  private wakeFrom(reason: 'idle' | 'backoff'): void {
    if (this.sleeping?.reason === reason) this.sleeping.wake();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.gauge();
      try {
        const entries = await this.spool.next(REPLAY_POINTS);
        if (entries.length === 0) {
          // Nothing waits any more: no spooled type needs to count as stored.
          if (this.spool.bytes === 0) this.schema.forgetSpooled();
          await this.sleep(IDLE_MS, 'idle');
          continue;
        }
        const started = Date.now();
        const points = entries.flatMap((entry) => entry.points);
        await this.replay(points);
        this.failures = 0;
        this.metrics.spoolDrained.inc(points.length);
        // The next record is at least as young as the last one replayed.
        await this.spool.drained(entries.at(-1)!, entries.length, points.at(-1)?.time);
        const due = (points.length * 1000) / this.config.drainLinesPerSecond;
        await this.sleep(due - (Date.now() - started), 'pace');
      } catch (error) {
        this.failures++;
        const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (this.failures - 1));
        const delay = Math.round(Math.random() * cap);
        this.logger.warn(`spool replay failed (${describe(error)}); next try in ${delay} ms`);
        await this.sleep(delay, 'backoff');
      }
    }
  }

  /**
   * Writes the points; throws (and they are replayed again later) unless InfluxDB took every
   * one it can ever take. A point that conflicts with InfluxDB's types (another writer created
   * the field with another type while it was spooled) is set aside, and the points set aside
   * go to the dead-letter file only once the others are stored: a replay that fails half-way
   * and is tried again does not dead-letter anything twice.
   */
  private async replay(points: readonly Point[]): Promise<void> {
    let { typed, refused } = await this.typed(points);
    try {
      await this.influx.write(typed.map((t) => toLine(t.point, t.fields)));
    } catch (error) {
      if (!(error instanceof InfluxRefusedError)) throw error;
      // The schema was behind another writer: read it again and type the points again (a
      // field another writer made an integer takes integral values), then write.
      if (error.conflict) await this.schema.refresh(error.conflict.measurement);
      ({ typed, refused } = await this.typed(points));
      try {
        await this.influx.write(typed.map((t) => toLine(t.point, t.fields)));
      } catch (again) {
        if (!(again instanceof InfluxRefusedError)) throw again;
        // Still refused: one by one, so that only the points InfluxDB refuses are set aside.
        const stored: Typed[] = [];
        for (const t of typed) {
          if (this.stopped)
            throw new Error('shutting down; the rest is replayed at the next start');
          try {
            await this.influx.write([toLine(t.point, t.fields)]);
            stored.push(t);
          } catch (single) {
            if (!(single instanceof InfluxRefusedError)) throw single;
            refused.push({ point: t.point, reason: single.message });
          }
        }
        typed = stored;
      }
    }
    for (const t of typed) this.schema.remember(t.point.measurement, t.fields);
    for (const { point, reason } of refused) {
      if (await this.spool.deadLetter(point, reason)) this.metrics.spoolDeadLettered.inc();
    }
  }

  /** The points typed against the schema, and those that conflict with it. */
  private async typed(
    points: readonly Point[],
  ): Promise<{ typed: Typed[]; refused: Array<{ point: Point; reason: string }> }> {
    const typed: Typed[] = [];
    const refused: Array<{ point: Point; reason: string }> = [];
    const added = new Map<string, Map<string, FieldType>>();
    // InfluxDB answers now (or this throws and the replay waits): its types win over what was
    // known when the points were spooled, so a field another writer created meanwhile is seen.
    for (const measurement of new Set(points.map((p) => p.measurement))) {
      await this.schema.refresh(measurement, 1000);
    }
    for (const point of points) {
      const stored = await this.schema.typesOf(point.measurement);
      let addedHere = added.get(point.measurement);
      if (!addedHere) added.set(point.measurement, (addedHere = new Map<string, FieldType>()));
      const result = typeFields(point, stored, addedHere);
      if ('conflict' in result) {
        const { field, stored: was, incoming } = result.conflict;
        refused.push({ point, reason: `field ${field} is ${was}, this value is ${incoming}` });
      } else {
        typed.push({ point, fields: result.fields });
      }
    }
    return { typed, refused };
  }

  private gauge(): void {
    this.metrics.spoolBytes.set(this.spool.bytes);
    this.metrics.spoolRecords.set(this.spool.pendingRecords);
    this.metrics.spoolOldestAgeSeconds.set(this.spool.oldestAgeSeconds());
  }

  private sleep(ms: number, reason: 'idle' | 'pace' | 'backoff'): Promise<void> {
    if (ms <= 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleeping = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref();
      this.sleeping = { reason, wake };
    });
  }
}
