/** The four field types InfluxDB stores; names as `SHOW FIELD KEYS` spells them. */
export const FIELD_TYPES = ['float', 'integer', 'string', 'boolean'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/**
 * A field value as it arrives in JSON, before it has a storage type: an integer literal beyond
 * ±2^53 is a bigint with its exact digits (http/exact-json.ts), within int64.
 */
export type FieldValue = string | number | bigint | boolean;

/**
 * The one shape of a point, from the moment a body is parsed until it becomes a line: tags as
 * strings, field values as they came, the timestamp given when the point was made (never
 * changed later), and the id of the event it carries (points of the 1.1 API have none). The
 * spool keeps it as it is (spool/spool-record.ts) and the line protocol writer takes it as it
 * is (influx/line-protocol.ts); each of those declares only the part of this shape it reads.
 */
export interface Point {
  readonly measurement: string;
  readonly tags: ReadonlyArray<readonly [string, string]>;
  readonly fields: ReadonlyArray<readonly [string, FieldValue]>;
  /** Nanoseconds since the Unix epoch. */
  readonly time: bigint;
  readonly eventId?: string;
}

/** A field with the storage type the schema decided for it (SchemaService.type). */
export interface TypedField {
  readonly key: string;
  readonly type: FieldType;
  readonly value: FieldValue;
}

/** A field whose value cannot be stored as the type the measurement holds for it. */
export interface FieldTypeConflict {
  readonly kind: 'type_conflict';
  readonly measurement: string;
  readonly field: string;
  /** The type the refused value would have been stored as. */
  readonly incoming: FieldType;
  /** The type the measurement holds (in InfluxDB, or waiting in the spool). */
  readonly stored: FieldType;
  /**
   * Set when the types agree but the value cannot be stored as `stored` exactly (an integer
   * beyond ±2^53 going into a float field): the rule it breaks, which the refusal states.
   */
  readonly rule?: string;
}
