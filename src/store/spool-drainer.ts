import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { describeFailure, type InfluxFailure } from '../influx/influx.answers';
import { MetricsService } from '../metrics/metrics.service';
import { spoolConfig, SpoolConfig } from '../spool/spool.config';
import { SpoolService } from '../spool/spool.service';
import type { FieldTypeConflict, Point, TypedField } from './point';
import { PointWriter } from './point-writer';
import { SchemaService } from './schema.service';

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
 * typed by the same SchemaService.type as the live path, against InfluxDB's fresh types, and
 * written by the same PointWriter, each on its own. A point that InfluxDB refuses for good (a
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
  private readonly unsubscribe: Array<() => void> = [];
  private failures = 0;

  constructor(
    private readonly spool: SpoolService,
    private readonly writer: PointWriter,
    private readonly schema: SchemaService,
    @Inject(spoolConfig.KEY) private readonly config: SpoolConfig,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    // An append ends an idle wait only: never the pacing of the rate cap, nor a backoff. A
    // write to InfluxDB that just succeeded ends a backoff.
    this.unsubscribe.push(this.spool.onAppend(() => this.wakeFrom('idle')));
    this.unsubscribe.push(this.writer.onStored(() => this.wakeFrom('backoff')));
    this.running = this.loop();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.sleeping?.wake();
    await this.running;
  }

  private wakeFrom(reason: 'idle' | 'backoff'): void {
    if (this.sleeping?.reason === reason) this.sleeping.wake();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.gauge();
      let failure: InfluxFailure | undefined;
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
        failure = await this.replay(points);
        if (failure === undefined) {
          this.failures = 0;
          this.metrics.spoolDrained.inc(points.length);
          // The next record is at least as young as the last one replayed.
          await this.spool.drained(entries.at(-1)!, entries.length, points.at(-1)?.time);
          const due = (points.length * 1000) / this.config.drainLinesPerSecond;
          await this.sleep(due - (Date.now() - started), 'pace');
          continue;
        }
      } catch (error) {
        // The spool could not be read (a damaged disk): tried again after a backoff.
        failure = { kind: 'unavailable', detail: (error as Error).message };
      }
      this.failures++;
      const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (this.failures - 1));
      const delay = Math.round(Math.random() * cap);
      this.logger.warn(
        `spool replay failed (${describeFailure(failure)}); next try in ${delay} ms`,
      );
      await this.sleep(delay, 'backoff');
    }
  }

  /**
   * Writes the points; undefined once InfluxDB took every one it can ever take, else why not
   * (and they are replayed again later). The types are InfluxDB's of at most a second ago: its
   * types win over what was known when the points were spooled, so a field another writer
   * created meanwhile is seen. A point that conflicts with them, or that InfluxDB refuses
   * again once typed anew, is set aside; those go to the dead-letter file only once the others
   * are stored, so a replay that fails half-way and is tried again dead-letters nothing twice.
   */
  private async replay(points: readonly Point[]): Promise<InfluxFailure | undefined> {
    const typed = await this.schema.type(points, 'fresh');
    if (!Array.isArray(typed)) return typed;
    const refused: Array<{ point: Point; reason: string }> = [];
    const writable: Point[] = [];
    const fields: TypedField[][] = [];
    typed.forEach((result, i) => {
      if (Array.isArray(result)) {
        writable.push(points[i]!);
        fields.push(result);
      } else {
        refused.push({ point: points[i]!, reason: conflictReason(result) });
      }
    });
    const written = await this.writer.writeEach(writable, fields);
    for (const [i, outcome] of written.entries()) {
      if (outcome.kind === 'unavailable' || outcome.kind === 'credentials') return outcome;
      if (outcome.kind === 'type_conflict') {
        refused.push({ point: writable[i]!, reason: conflictReason(outcome.conflict) });
      } else if (outcome.kind === 'refused') {
        // InfluxDB's own words: the file keeps the point's values anyway.
        refused.push({
          point: writable[i]!,
          reason: `InfluxDB refused it (${outcome.status}): ${outcome.detail}`,
        });
      }
    }
    for (const { point, reason } of refused) {
      if (await this.spool.deadLetter(point, reason)) this.metrics.spoolDeadLettered.inc();
    }
    return undefined;
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

/** Why a spooled point's field cannot be stored now, for the dead-letter file. */
function conflictReason({ field, stored, incoming, rule }: FieldTypeConflict): string {
  return rule === undefined
    ? `field ${field} is ${stored}, this value is ${incoming}`
    : `field ${field}: ${rule}`;
}
