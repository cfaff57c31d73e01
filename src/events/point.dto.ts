import { ApiSchema } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, Matches, validateSync } from 'class-validator';
import type { FieldValue, Point } from '../store/point';
import { pointFault } from '../store/point-rules';
import type { Limits } from './events.config';
import { MEASUREMENT, oversizedTag, SERIES_KEY_RULE, tagRule, tagText } from './event-point';
import { Refusal } from '../http/refusal';

type Scalar = string | number | bigint | boolean;

/**
 * One element of the points (1.1) body: `{measurement, tags, fields}` (docs/API.md, "Points"). The
 * OpenAPI schema `Point` is derived from this class by the @nestjs/swagger CLI plugin (its
 * properties, what is required, the descriptions below); events.openapi.ts adds only what
 * the class cannot say (the value types of the maps, no other keys).
 */
@ApiSchema({ name: 'Point' })
export class PointDto {
  /** The measurement to store the point in. */
  @IsString({ message: 'must be a string' })
  @Matches(MEASUREMENT, { message: 'must match ^[A-Za-z0-9_.-]{1,128}$' })
  measurement!: string;

  /**
   * Stored as strings, the way Python wrote them (`true` → `"True"`, `1814` → `"1814"`);
   * `null` and `""` values are left out.
   */
  @IsOptional()
  @IsObject({ message: 'must be an object or null' })
  tags?: Record<string, Scalar | null> | null;

  /** At least one non-null value; values keep their type. */
  @IsObject({ message: 'must be an object with at least one non-null value' })
  fields!: Record<string, Scalar | null>;
}

/**
 * Validates one element of a points body and makes its point, stamped `time`; throws a Refusal
 * placed at `index`.
 */
export function parsePoint(element: unknown, index: number, limits: Limits, time: bigint): Point {
  if (typeof element !== 'object' || element === null || Array.isArray(element)) {
    throw new Refusal('', 'must be an object {measurement, tags, fields}', index);
  }
  // Other keys of an element are ignored, as the original ignored them.
  const raw = element as Record<string, unknown>;
  const dto = Object.assign(new PointDto(), {
    measurement: raw.measurement,
    tags: raw.tags,
    fields: raw.fields,
  });
  const [error] = validateSync(dto, { stopAtFirstError: true });
  if (error) {
    const rule = Object.values(error.constraints ?? {})[0] ?? 'is invalid';
    throw new Refusal(error.property, rule, index);
  }

  const tags: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(dto.tags ?? {})) {
    checkKey(`tags.${key}`, key, index, limits);
    if (value === null) continue;
    checkScalar(`tags.${key}`, value, index);
    checkLength(`tags.${key}`, value, index, limits);
    const text = tagText(value);
    const rule = tagRule(text);
    if (rule) throw new Refusal(`tags.${key}`, rule, index);
    if (text !== '') tags.push([key, text]);
  }
  const fields: Array<[string, FieldValue]> = [];
  for (const [key, value] of Object.entries(dto.fields)) {
    // A key may be both a tag and a field, as the original wrote every event key; InfluxDB
    // 1.x stores both (and names the tag `key_1` in `SELECT *`).
    checkKey(`fields.${key}`, key, index, limits);
    if (value === null) continue;
    checkScalar(`fields.${key}`, value, index);
    checkLength(`fields.${key}`, value, index, limits);
    fields.push([key, value]);
  }
  if (fields.length === 0) {
    throw new Refusal('fields', 'must have at least one non-null value', index);
  }
  if (tags.length + fields.length > limits.maxKeys) {
    throw new Refusal(
      '',
      `a point may have at most ${limits.maxKeys} keys (MAX_EVENT_KEYS)`,
      index,
    );
  }
  const oversized = oversizedTag(dto.measurement, tags);
  if (oversized !== undefined) throw new Refusal(`tags.${oversized}`, SERIES_KEY_RULE, index);
  const point = { measurement: dto.measurement, tags, fields, time };
  // What InfluxDB cannot store exactly, checked once, before anything keeps the point.
  const fault = pointFault(point);
  if (fault) {
    const key = fault.part === 'measurement' ? 'measurement' : `${fault.part}s.${fault.key}`;
    throw new Refusal(key, fault.rule, index);
  }
  return point;
}

function checkKey(path: string, key: string, index: number, limits: Limits): void {
  if (key === '') throw new Refusal(path, 'keys must not be empty', index);
  if (key === 'time')
    throw new Refusal(path, 'is reserved: InfluxDB refuses a key named time', index);
  if (key.length > limits.maxKeyLength) {
    throw new Refusal(
      path,
      `keys may be at most ${limits.maxKeyLength} characters (MAX_KEY_LENGTH)`,
      index,
    );
  }
  const rule = tagRule(key);
  if (rule) throw new Refusal(path, rule, index);
}

function checkScalar(path: string, value: unknown, index: number): void {
  // A bigint is an integer beyond ±2^53 with its exact digits, within int64 (the body reader).
  if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'bigint') return;
  if (typeof value === 'number' && Number.isFinite(value)) return;
  throw new Refusal(path, 'must be a string, a finite number, a boolean or null', index);
}

function checkLength(path: string, value: unknown, index: number, limits: Limits): void {
  if (typeof value === 'string' && Buffer.byteLength(value) > limits.maxStringBytes) {
    const rule = `strings may be at most ${limits.maxStringBytes} bytes (MAX_STRING_BYTES)`;
    throw new Refusal(path, rule, index);
  }
}
