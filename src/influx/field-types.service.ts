import { Injectable } from '@nestjs/common';
import { FieldTypeConflict } from './influx.errors';
import { InfluxService, quoteName } from './influx.service';
import { FieldType, TypedField } from './line-protocol';
import { originalLayout, UntypedPoint } from './original-layout';

/** A value as it arrives in JSON, before it has a storage type. */
export type FieldInput = string | number | boolean;

/** InfluxDB's integers are int64: from -2^63 (included) to 2^63 (excluded). */
const INT64_LIMIT = 2 ** 63;
/** After this long a measurement's types are read again, to learn of other writers' fields. */
const REFRESH_AFTER_MS = 60_000;

interface Entry {
  types: Map<string, FieldType>;
  loadedAt: number;
}

/**
 * The field types InfluxDB holds, per measurement (`SHOW FIELD KEYS`), so that the service can
 * refuse a conflicting event itself instead of sending it and having it dropped. Loaded on first
 * use, updated after every successful write, read again in the background once a minute, and at
 * once before a conflict is reported (the cache may be behind another writer).
 */
@Injectable()
export class FieldTypesService {
  private readonly cache = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Entry>>();

  constructor(private readonly influx: InfluxService) {}

  /** The known types of a measurement's fields (loading them the first time). */
  async typesOf(measurement: string): Promise<ReadonlyMap<string, FieldType>> {
    const entry = this.cache.get(measurement);
    if (entry === undefined) return (await this.load(measurement)).types;
    if (Date.now() - entry.loadedAt > REFRESH_AFTER_MS) {
      this.load(measurement).catch(() => undefined);
    }
    return entry.types;
  }

  /**
   * Reads the measurement's types from InfluxDB again, unless they were read less than
   * `unlessWithinMs` ago (so that a stream of conflicting events costs one query a second, not
   * one each). Resolves to whether it read them.
   */
  async refresh(measurement: string, unlessWithinMs = 0): Promise<boolean> {
    const entry = this.cache.get(measurement);
    if (entry && Date.now() - entry.loadedAt < unlessWithinMs) return false;
    await this.load(measurement);
    return true;
  }

  /** Records the types of fields InfluxDB just accepted. */
  remember(measurement: string, fields: readonly TypedField[]): void {
    const entry = this.cache.get(measurement);
    if (entry === undefined) return;
    for (const field of fields) {
      if (!entry.types.has(field.key)) entry.types.set(field.key, field.type);
    }
  }

  private load(measurement: string): Promise<Entry> {
    let pending = this.loading.get(measurement);
    if (pending === undefined) {
      pending = this.read(measurement).finally(() => this.loading.delete(measurement));
      this.loading.set(measurement, pending);
    }
    return pending;
  }

  private async read(measurement: string): Promise<Entry> {
    const [result] = await this.influx.query(`SHOW FIELD KEYS FROM ${quoteName(measurement)}`);
    const types = new Map<string, FieldType>();
    if (result?.error && !/database not found/.test(result.error)) {
      throw new Error(`SHOW FIELD KEYS failed: ${result.error}`);
    }
    for (const series of result?.series ?? []) {
      for (const [key, type] of series.values) {
        // A field can have different types in different shards; the first one InfluxDB lists
        // is kept, and a write into a shard that disagrees is still caught by InfluxDB itself.
        if (typeof key === 'string' && isFieldType(type) && !types.has(key)) types.set(key, type);
      }
    }
    const entry = { types, loadedAt: Date.now() };
    this.cache.set(measurement, entry);
    return entry;
  }
}

function isFieldType(value: unknown): value is FieldType {
  return value === 'float' || value === 'integer' || value === 'string' || value === 'boolean';
}

/**
 * Decides each field's storage type from its JSON value and the types already stored (README,
 * "How events and points are stored"): numbers are floats unless the field is already an
 * integer, and then must be integral. In the events measurement, the layout rules of data the
 * original service wrote apply first (`originalLayout`). New fields go into `added`, so that one
 * call over several points of the same measurement (sharing `added`) also catches a conflict
 * between those points.
 */
export function typeFields(
  point: UntypedPoint,
  stored: ReadonlyMap<string, FieldType>,
  added: Map<string, FieldType>,
  eventsMeasurement: string,
): { fields: TypedField[] } | { conflict: FieldTypeConflict } {
  const { measurement } = point;
  const typed: TypedField[] = [];
  for (const [key, value] of originalLayout(point, stored, eventsMeasurement)) {
    const known = stored.get(key) ?? added.get(key);
    let type: FieldType;
    if (typeof value === 'number') {
      type = known === 'integer' ? 'integer' : 'float';
    } else {
      type = typeof value === 'string' ? 'string' : 'boolean';
    }
    const integral =
      Number.isInteger(value) &&
      (value as number) >= -INT64_LIMIT &&
      (value as number) < INT64_LIMIT;
    if (known !== undefined && (known !== type || (type === 'integer' && !integral))) {
      const incoming = type === 'integer' ? 'float' : type;
      return { conflict: { measurement, field: key, incoming, stored: known } };
    }
    if (known === undefined) added.set(key, type);
    typed.push({ key, type, value });
  }
  return { fields: typed };
}
