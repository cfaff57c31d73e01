import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { FieldTypesService, typeFields } from '../influx/field-types.service';
import { InfluxRefusedError } from '../influx/influx.errors';
import { describe, InfluxService } from '../influx/influx.service';
import { FieldType, toLine } from '../influx/line-protocol';
import { MetricsService } from '../metrics/metrics.service';
import { eventsConfig, EventsConfig } from '../events/events.config';
import { SpooledPoint } from './spool-record';
import { spoolConfig, SpoolConfig } from './spool.config';
import { SpoolService } from './spool.service';

/** Points replayed per InfluxDB write. */
const REPLAY_POINTS = 5000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;
/** How often an idle drainer looks again, besides being woken by an append. */
const IDLE_MS = 1000;

/**
 * Replays the spool to InfluxDB in order, in batches, no faster than
 * SPOOL_DRAIN_LINES_PER_SECOND, with exponential backoff and full jitter while InfluxDB is
 * unavailable. Spool space is freed only after InfluxDB acknowledged the points. A point that
 * InfluxDB refuses for good (a field type conflict that appeared after it was accepted) goes to
 * the dead-letter file rather than blocking the points behind it.
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
    private readonly fieldTypes: FieldTypesService,
    @Inject(spoolConfig.KEY) private readonly config: SpoolConfig,
    private readonly metrics: MetricsService,
    @Inject(eventsConfig.KEY) private readonly events: EventsConfig,
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

  /** Writes the points; throws (and replays them again later) unless InfluxDB took them all. */
  private async replay(points: SpooledPoint[]): Promise<void> {
    let { lines, kept } = await this.typed(points);
    try {
      await this.influx.write(lines);
      return;
    } catch (error) {
      if (!(error instanceof InfluxRefusedError)) throw error;
      // The cache was behind another writer: learn the types and type the points again (a
      // field another writer made an integer takes integral values), then write.
      if (error.conflict) await this.fieldTypes.refresh(error.conflict.measurement);
      ({ lines, kept } = await this.typed(kept));
    }
    try {
      await this.influx.write(lines);
    } catch (error) {
      if (!(error instanceof InfluxRefusedError)) throw error;
      // Still refused: one by one, so that only the points InfluxDB refuses are set aside.
      for (const [i, line] of lines.entries()) {
        if (this.stopped) throw new Error('shutting down; the rest is replayed at the next start');
        try {
          await this.influx.write([line]);
        } catch (single) {
          if (!(single instanceof InfluxRefusedError)) throw single;
          await this.deadLetter(kept[i]!, single.message);
        }
      }
    }
  }

  /** Lines for the points that agree with the known field types; the others dead-lettered. */
  private async typed(points: SpooledPoint[]): Promise<{ lines: string[]; kept: SpooledPoint[] }> {
    const lines: string[] = [];
    const kept: SpooledPoint[] = [];
    const added = new Map<string, Map<string, FieldType>>();
    for (const point of points) {
      const stored = await this.fieldTypes.typesOf(point.measurement);
      let addedHere = added.get(point.measurement);
      if (!addedHere) added.set(point.measurement, (addedHere = new Map<string, FieldType>()));
      const result = typeFields(point, stored, addedHere, this.events.tableName);
      if ('conflict' in result) {
        const { field, stored: was, incoming } = result.conflict;
        await this.deadLetter(point, `field ${field} is ${was}, this value is ${incoming}`);
        continue;
      }
      lines.push(toLine({ ...point, fields: result.fields }));
      kept.push(point);
    }
    return { lines, kept };
  }

  private gauge(): void {
    this.metrics.spoolBytes.set(this.spool.bytes);
    this.metrics.spoolRecords.set(this.spool.pendingRecords);
    this.metrics.spoolOldestAgeSeconds.set(this.spool.oldestAgeSeconds());
  }

  private async deadLetter(point: SpooledPoint, reason: string): Promise<void> {
    await this.spool.deadLetter(point, reason);
    this.metrics.spoolDeadLettered.inc();
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
