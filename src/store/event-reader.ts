import { Injectable } from '@nestjs/common';
import { InfluxService } from '../influx/influx.service';
import { SpoolService } from '../spool/spool.service';
import type { Point } from './point';
import { SchemaService } from './schema.service';
import { isScan, searchPlan } from './search-plan';
import type { ReadOutcome } from './store.outcomes';

/** The events API's read settings (events/events.config.ts). */
export interface ReadPolicy {
  /** TABLE_NAME. */
  readonly measurement: string;
  /** EVENT_READ_WINDOW_HOURS: how far back an id without a time is looked for (0: no bound). */
  readonly windowHours: number;
  /** EVENT_READ_MAX_SCANS: searches of the read window that may run at once. */
  readonly maxScans: number;
}

const NOT_FOUND: ReadOutcome = { kind: 'not_found' };
const UNAVAILABLE: ReadOutcome = { kind: 'unavailable', retryAfterSeconds: 5 };
/** A window search takes a second at most (docs/PERFORMANCE.md, "Reading back"): retry then. */
const BUSY: ReadOutcome = { kind: 'busy', retryAfterSeconds: 1 };

/**
 * Reads one event back by its id (docs/API.md, "Reading an event back"): from the spool while
 * it waits there (its index answers without reading the disk, unless it holds the id), else from
 * InfluxDB, along the id's search plan. Both answer the same shape with the same types: a
 * queued event is typed as it will be stored (SchemaService.type, against what is known now),
 * so that a numeric uid reads back as text in both, for instance.
 */
@Injectable()
export class EventReader {
  /** Window searches running now. */
  private scans = 0;

  constructor(
    private readonly influx: InfluxService,
    private readonly spool: SpoolService,
    private readonly schema: SchemaService,
  ) {}

  async find(id: string, policy: ReadPolicy): Promise<ReadOutcome> {
    if (this.spool.pendingRecords > 0) {
      const queued = await this.spool.find(id);
      if (queued) return { kind: 'found', status: 'queued', event: await this.asStored(queued) };
    }
    const nowMs = Date.now();
    for (const bounds of searchPlan(id, nowMs, policy.windowHours)) {
      const scan = isScan(bounds, nowMs);
      if (scan && this.scans >= policy.maxScans) return BUSY;
      if (scan) this.scans++;
      const answer = await this.influx
        .newestEvent(policy.measurement, id, bounds)
        .finally(() => scan && this.scans--);
      if (answer.kind !== 'ok') return UNAVAILABLE;
      const row = answer.value;
      if (row) {
        const fields = await this.exact(policy.measurement, row.fields);
        return { kind: 'found', status: 'stored', event: flat(row.time, row.tags, fields) };
      }
    }
    return NOT_FOUND;
  }

  /**
   * The fields with the values InfluxDB holds: an integer beyond ±2^53 is read as its digits (a
   * bigint), which are exact for an integer field; a float field's value is a double, whose
   * digits InfluxDB writes shortest (2^62 as 4611686018427388000), so it is answered as the
   * double's exact integer (4611686018427387904), the integer that was sent. Most rows hold no
   * such integer and are answered as they are.
   */
  private async exact(
    measurement: string,
    fields: ReadonlyArray<readonly [string, unknown]>,
  ): Promise<ReadonlyArray<readonly [string, unknown]>> {
    if (!fields.some(([, value]) => typeof value === 'bigint')) return fields;
    const types = await this.schema.typesOf(measurement);
    return fields.map(([key, value]) =>
      typeof value === 'bigint' && types.get(key) === 'float'
        ? [key, BigInt(Number(value))]
        : [key, value],
    );
  }

  /** A spooled point as InfluxDB will answer it once stored. */
  private async asStored(point: Point): Promise<Record<string, unknown>> {
    const typed = await this.schema.type([point], 'known');
    const first = Array.isArray(typed) ? typed[0] : undefined;
    // One that conflicts now (it will be dead-lettered) is answered as it was sent.
    const fields = Array.isArray(first)
      ? first.map((field): readonly [string, unknown] => [field.key, field.value])
      : point.fields;
    return flat(rfc3339(point.time), point.tags, fields);
  }
}

/**
 * One event as one flat object, time first; a key both tag and field keeps the field's value,
 * which has the type it is stored with. No prototype: a key named `__proto__` is a key like any
 * other, not a setter.
 */
function flat(
  time: string,
  tags: ReadonlyArray<readonly [string, string]>,
  fields: ReadonlyArray<readonly [string, unknown]>,
): Record<string, unknown> {
  const event = Object.create(null) as Record<string, unknown>;
  event.time = time;
  for (const [key, value] of tags) event[key] = value;
  for (const [key, value] of fields) event[key] = value;
  return event;
}

/** Nanoseconds as InfluxDB writes a time: RFC 3339, the fraction without trailing zeros. */
function rfc3339(ns: bigint): string {
  const seconds = new Date(Number(ns / 1_000_000_000n) * 1000).toISOString().slice(0, 19);
  const fraction = String(ns % 1_000_000_000n)
    .padStart(9, '0')
    .replace(/0+$/, '');
  return `${seconds}${fraction ? `.${fraction}` : ''}Z`;
}
