import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InfluxService, quoteName } from '../influx/influx.service';
import type { FieldType, TypedField } from '../influx/line-protocol';
import { spoolConfig, SpoolConfig } from '../spool/spool.config';

/** After this long a measurement's types are read again, to learn of other writers' fields. */
const REFRESH_AFTER_MS = 60_000;
/** A failed background read is not tried again sooner than this. */
const RETRY_READ_AFTER_MS = 1000;
/** Beside the spool segments in SPOOL_DIR. */
export const SCHEMA_FILE = 'schema.json';

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

/** The schema file: per measurement, its field types in InfluxDB and in the spool. */
interface SchemaFile {
  version: 1;
  measurements: Record<
    string,
    { stored: Record<string, FieldType>; spooled: Record<string, FieldType> }
  >;
}

/**
 * What the service knows of the field types per measurement, so that it refuses a conflicting
 * value itself, the same way whether InfluxDB is up, down or slow:
 * - read from InfluxDB (`SHOW FIELD KEYS`) on first use, again once a minute in the
 *   background, and at once before a conflict is reported (it may be behind another writer);
 * - the types of points InfluxDB acknowledged are added at once;
 * - the types of points waiting in the spool count as stored: a later value of another type
 *   is refused even though InfluxDB has not seen the first one yet;
 * - kept in SPOOL_DIR/schema.json (written whole to a temporary file, fsync'ed, renamed), and
 *   loaded at start-up, so that a service restarted while InfluxDB is down knows what it
 *   learned before.
 * When InfluxDB answers, its types win over what the spool holds (a field another writer
 * created with another type during an outage): the spooled point is dead-lettered at replay.
 */
@Injectable()
export class SchemaService implements OnModuleInit {
  private readonly logger = new Logger(SchemaService.name);
  private readonly measurements = new Map<string, Measurement>();
  private readonly loading = new Map<string, Promise<Measurement>>();
  private readonly path: string;
  /** A save that has not started yet (it will write the state as it is when it starts). */
  private nextSave?: Promise<void>;
  private lastSave: Promise<void> = Promise.resolve();

  constructor(
    private readonly influx: InfluxService,
    @Inject(spoolConfig.KEY) config: SpoolConfig,
  ) {
    this.path = join(config.dir, SCHEMA_FILE);
  }

  async onModuleInit(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch {
      return; // no file yet: nothing learned
    }
    try {
      const file = JSON.parse(text) as SchemaFile;
      for (const [name, types] of Object.entries(file.measurements)) {
        const entry = this.entry(name);
        for (const [key, type] of Object.entries(types.stored)) entry.stored.set(key, type);
        for (const [key, type] of Object.entries(types.spooled)) entry.spooled.set(key, type);
        merge(entry);
      }
    } catch {
      // Written atomically, so this is damage from outside: start from what InfluxDB says.
      this.logger.error(`${this.path} is not a schema file; it is ignored and rewritten`);
    }
  }

  /**
   * The types a new point of the measurement is checked against, reading InfluxDB the first
   * time (rejects when it cannot be read and nothing is known yet: see `known`).
   */
  async typesOf(measurement: string): Promise<ReadonlyMap<string, FieldType>> {
    const entry = this.measurements.get(measurement);
    if (entry === undefined || (entry.readAt === 0 && entry.known.size === 0)) {
      return (await this.load(measurement)).known;
    }
    const now = Date.now();
    if (now - entry.readAt > REFRESH_AFTER_MS && now - entry.triedAt > RETRY_READ_AFTER_MS) {
      entry.triedAt = now;
      this.load(measurement).catch(() => undefined);
    }
    return entry.known;
  }

  /** What is known now, without asking InfluxDB: for points that go to the spool. */
  known(measurement: string): ReadonlyMap<string, FieldType> {
    return this.measurements.get(measurement)?.known ?? new Map<string, FieldType>();
  }

  /**
   * Reads the measurement's types from InfluxDB again, unless they were read less than
   * `unlessWithinMs` ago (so that a stream of conflicting events costs one query a second, not
   * one each). Resolves to whether it read them.
   */
  async refresh(measurement: string, unlessWithinMs = 0): Promise<boolean> {
    const entry = this.measurements.get(measurement);
    if (entry && Date.now() - entry.readAt < unlessWithinMs) return false;
    await this.load(measurement);
    return true;
  }

  /** Records the types of fields InfluxDB just acknowledged; saved in the background. */
  remember(measurement: string, fields: readonly TypedField[]): void {
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

  /**
   * Writes the schema file; resolves once what is known now is durable. Saves run one at a
   * time, and calls made while one waits share it.
   */
  save(): Promise<void> {
    if (this.nextSave === undefined) {
      const save = this.lastSave
        .catch(() => undefined)
        .then(() => {
          this.nextSave = undefined;
          return this.write();
        });
      save.catch((error: unknown) =>
        this.logger.error(`could not save ${SCHEMA_FILE}: ${(error as Error).message}`),
      );
      this.nextSave = save;
      this.lastSave = save;
    }
    return this.nextSave;
  }

  private async write(): Promise<void> {
    const file: SchemaFile = { version: 1, measurements: {} };
    for (const [name, entry] of this.measurements) {
      file.measurements[name] = {
        stored: Object.fromEntries(entry.stored),
        spooled: Object.fromEntries(entry.spooled),
      };
    }
    const temporary = `${this.path}.tmp`;
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(JSON.stringify(file));
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temporary, this.path);
    const dir = await open(join(this.path, '..'), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  private entry(measurement: string): Measurement {
    let entry = this.measurements.get(measurement);
    if (entry === undefined) {
      entry = { stored: new Map(), spooled: new Map(), known: new Map(), readAt: 0, triedAt: 0 };
      this.measurements.set(measurement, entry);
    }
    return entry;
  }

  private load(measurement: string): Promise<Measurement> {
    let pending = this.loading.get(measurement);
    if (pending === undefined) {
      pending = this.read(measurement).finally(() => this.loading.delete(measurement));
      this.loading.set(measurement, pending);
    }
    return pending;
  }

  private async read(measurement: string): Promise<Measurement> {
    const [result] = await this.influx.query(`SHOW FIELD KEYS FROM ${quoteName(measurement)}`);
    if (result?.error && !/database not found/.test(result.error)) {
      throw new Error(`SHOW FIELD KEYS failed: ${result.error}`);
    }
    const types = new Map<string, FieldType>();
    for (const series of result?.series ?? []) {
      for (const [key, type] of series.values) {
        // A field can have different types in different shards; the first one InfluxDB lists
        // is kept, and a write into a shard that disagrees is still caught by InfluxDB itself.
        if (typeof key === 'string' && isFieldType(type) && !types.has(key)) types.set(key, type);
      }
    }
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

function merge(entry: Measurement): void {
  entry.known = new Map([...entry.spooled, ...entry.stored]);
}

function sameTypes(a: ReadonlyMap<string, FieldType>, b: ReadonlyMap<string, FieldType>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, type] of a) if (b.get(key) !== type) return false;
  return true;
}

function isFieldType(value: unknown): value is FieldType {
  return value === 'float' || value === 'integer' || value === 'string' || value === 'boolean';
}
