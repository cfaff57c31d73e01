import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { InfluxFailure } from '../influx/influx.answers';
import { InfluxService } from '../influx/influx.service';
import { spoolConfig, SpoolConfig } from '../spool/spool.config';
import { typeFields } from './field-typing';
import type { FieldType, FieldTypeConflict, Point, TypedField } from './point';
import { SchemaFile } from './schema-file';
import type { KeyType } from './written-types';

export { SCHEMA_FILE } from './schema-file';

/** After this long a measurement's types are read again, to learn of other writers' fields. */
const REFRESH_AFTER_MS = 60_000;
/** A failed background read is not tried again sooner than this. */
const RETRY_READ_AFTER_MS = 1000;
/** Types read less than this long ago are fresh enough to refuse a conflict with. */
const FRESH_MS = 1000;

/**
 * Where the types a point is checked against come from:
 * - `influx`: what is known, reading InfluxDB first when nothing is known of the measurement
 *   yet; a conflict is checked once more against freshly read types before it stands (the
 *   cache may be behind another writer). For the live write path.
 * - `known`: what is known now, without asking InfluxDB. For points going to the spool, and
 *   for reading a queued event back.
 * - `fresh`: InfluxDB's types, read now (or by a read under way): its types win over what was
 *   known when points were spooled. For the replay, and after InfluxDB refused a write.
 */
export type TypesSource = 'influx' | 'known' | 'fresh';

/** A point's fields as they will be stored, or why they cannot be. */
export type Typed = TypedField[] | FieldTypeConflict;

interface Measurement {
  /** What InfluxDB held when last read, and what it has acknowledged since. */
  stored: Map<string, FieldType>;
  /** Types of points waiting in the spool, for fields InfluxDB did not hold when last read. */
  spooled: Map<string, FieldType>;
  /** `spooled` overlaid with `stored`: what a new point is typed against. */
  known: Map<string, FieldType>;
  /** When InfluxDB was last read for it; 0: never in this process (known from the file). */
  readAt: number;
  triedAt: number;
}

const NOTHING_KNOWN: ReadonlyMap<string, FieldType> = new Map();

/**
 * What the service knows of the field types per measurement, and THE typing decision: every
 * point that is written, spooled, replayed or read back while queued gets its storage types
 * from `type()`, so that a conflicting value is refused the same way whether InfluxDB is up,
 * down or slow:
 * - read from InfluxDB (`SHOW FIELD KEYS`) on first use, again once a minute in the
 *   background, and at once before a conflict is reported (it may be behind another writer);
 * - the types of points InfluxDB acknowledged are added at once;
 * - the types of points waiting in the spool count as stored: a later value of another type
 *   is refused even though InfluxDB has not seen the first one yet;
 * - kept in SPOOL_DIR/schema.json (SchemaFile), and loaded at start-up, so that a service
 *   restarted while InfluxDB is down knows what it learned before.
 * When InfluxDB answers, its types win over what the spool holds (a field another writer
 * created with another type during an outage): the spooled point is dead-lettered at replay.
 */
@Injectable()
export class SchemaService implements OnModuleInit {
  private readonly logger = new Logger(SchemaService.name);
  private readonly measurements = new Map<string, Measurement>();
  private readonly loading = new Map<string, Promise<Measurement | InfluxFailure>>();
  private readonly file: SchemaFile;

  constructor(
    private readonly influx: InfluxService,
    @Inject(spoolConfig.KEY) config: SpoolConfig,
  ) {
    this.file = new SchemaFile(config.dir, this.logger);
  }

  async onModuleInit(): Promise<void> {
    for (const [name, kept] of await this.file.load()) {
      const entry = this.entry(name);
      for (const [key, type] of kept.stored) entry.stored.set(key, type);
      for (const [key, type] of kept.spooled) entry.spooled.set(key, type);
      merge(entry);
    }
  }

  /**
   * Types every point against the schema (`source`): one result per point, in order. Unless
   * `alone`, the points of the call must agree with each other too (an array, a replay, what
   * goes to the spool, where InfluxDB cannot decide): a point that conflicts adds nothing for
   * the points after it. `alone` (a batch of events written live): each point is typed against
   * the schema only, and InfluxDB decides between points that bring the same new field with
   * different types. Resolves to the failure that kept the types from being read, if any.
   */
  async type(
    points: readonly Point[],
    source: TypesSource,
    alone = false,
  ): Promise<Typed[] | InfluxFailure> {
    const schema = new Map<string, ReadonlyMap<string, FieldType>>();
    for (const { measurement } of points) {
      if (schema.has(measurement)) continue;
      const types = await this.typesFrom(measurement, source);
      if ('kind' in types) return types;
      schema.set(measurement, types);
    }
    const typed = typeAll(points, schema, alone);
    if (source !== 'influx') return typed;
    // A conflict with a cache that may be behind another writer is looked at again first, at
    // most once a second per measurement, so a stream of conflicting events costs one query.
    const conflicted = new Set<string>();
    for (const result of typed) if (!Array.isArray(result)) conflicted.add(result.measurement);
    let reread = false;
    for (const measurement of conflicted) {
      const entry = this.measurements.get(measurement);
      if (entry && Date.now() - entry.readAt < FRESH_MS) continue;
      const read = await this.load(measurement);
      if ('kind' in read) continue; // cannot be read: what is known stands
      schema.set(measurement, read.known);
      reread = true;
    }
    return reread ? typeAll(points, schema, alone) : typed;
  }

  /**
   * The measurement's field types as the live write path sees them (`influx`), for reading an
   * event back; nothing when they cannot be read.
   */
  async typesOf(measurement: string): Promise<ReadonlyMap<string, FieldType>> {
    const types = await this.typesFrom(measurement, 'influx');
    return 'kind' in types ? NOTHING_KNOWN : types;
  }

  /** Records the types of fields InfluxDB just acknowledged; saved in the background. */
  remember(measurement: string, fields: readonly KeyType[]): void {
    const entry = this.entry(measurement);
    let changed = false;
    for (const field of fields) {
      if (entry.stored.has(field.key)) continue;
      entry.stored.set(field.key, field.type);
      entry.spooled.delete(field.key);
      changed = true;
    }
    if (!changed) return;
    merge(entry);
    this.save().catch(() => undefined);
  }

  /**
   * Records the types of fields of a point going to the spool, at once (the next point is
   * checked against them); `save()` makes them durable.
   */
  rememberSpooled(measurement: string, fields: readonly TypedField[]): void {
    const entry = this.entry(measurement);
    let changed = false;
    for (const field of fields) {
      if (entry.known.has(field.key)) continue;
      entry.spooled.set(field.key, field.type);
      changed = true;
    }
    if (changed) merge(entry);
  }

  /** The spool is empty: no spooled type is waiting any more (a dead-lettered one included). */
  forgetSpooled(): void {
    let changed = false;
    for (const entry of this.measurements.values()) {
      if (entry.spooled.size === 0) continue;
      entry.spooled.clear();
      merge(entry);
      changed = true;
    }
    if (changed) this.save().catch(() => undefined);
  }

  /** Writes the schema file; resolves once what is known now is durable. */
  save(): Promise<void> {
    return this.file.save(() => this.measurements.entries());
  }

  private async typesFrom(
    measurement: string,
    source: TypesSource,
  ): Promise<ReadonlyMap<string, FieldType> | InfluxFailure> {
    // A map has no `kind`: callers tell the two apart by it.
    const entry = this.measurements.get(measurement);
    if (source === 'known') return entry?.known ?? NOTHING_KNOWN;
    const now = Date.now();
    if (source === 'fresh') {
      const read = await this.load(measurement);
      return 'kind' in read ? read : read.known;
    }
    if (entry === undefined || (entry.readAt === 0 && entry.known.size === 0)) {
      const read = await this.load(measurement);
      return 'kind' in read ? read : read.known;
    }
    if (now - entry.readAt > REFRESH_AFTER_MS && now - entry.triedAt > RETRY_READ_AFTER_MS) {
      entry.triedAt = now;
      void this.load(measurement);
    }
    return entry.known;
  }

  private entry(measurement: string): Measurement {
    let entry = this.measurements.get(measurement);
    if (entry === undefined) {
      entry = { stored: new Map(), spooled: new Map(), known: new Map(), readAt: 0, triedAt: 0 };
      this.measurements.set(measurement, entry);
    }
    return entry;
  }

  /** Reads the measurement's types from InfluxDB (one read at a time per measurement). */
  private load(measurement: string): Promise<Measurement | InfluxFailure> {
    let pending = this.loading.get(measurement);
    if (pending === undefined) {
      pending = this.read(measurement).finally(() => this.loading.delete(measurement));
      this.loading.set(measurement, pending);
    }
    return pending;
  }

  private async read(measurement: string): Promise<Measurement | InfluxFailure> {
    const answer = await this.influx.fieldTypes(measurement);
    if (answer.kind !== 'ok') return answer;
    const types: Map<string, FieldType> = answer.value;
    const entry = this.entry(measurement);
    const changed = !sameTypes(entry.stored, types);
    entry.stored = types;
    for (const key of types.keys()) entry.spooled.delete(key);
    entry.readAt = Date.now();
    merge(entry);
    if (changed) this.save().catch(() => undefined);
    return entry;
  }
}

/** Each point typed against its measurement's types (and, unless alone, the earlier points). */
function typeAll(
  points: readonly Point[],
  schema: ReadonlyMap<string, ReadonlyMap<string, FieldType>>,
  alone: boolean,
): Typed[] {
  const added = new Map<string, Map<string, FieldType>>();
  const typed: Typed[] = [];
  for (const point of points) {
    let addedHere = added.get(point.measurement);
    if (!addedHere) added.set(point.measurement, (addedHere = new Map<string, FieldType>()));
    else if (alone) addedHere.clear();
    typed.push(typeFields(point, schema.get(point.measurement) ?? NOTHING_KNOWN, addedHere));
  }
  return typed;
}

function merge(entry: Measurement): void {
  entry.known = new Map([...entry.spooled, ...entry.stored]);
}

function sameTypes(a: ReadonlyMap<string, FieldType>, b: ReadonlyMap<string, FieldType>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, type] of a) if (b.get(key) !== type) return false;
  return true;
}
