import type { FieldTypeConflict } from '../influx/influx.errors';

/**
 * A point's field has another type than the schema holds for it (in InfluxDB or in the spool):
 * the points were not kept. `index`: the point's place in the call, for an array of points.
 */
export class TypeConflictError extends Error {
  override readonly name = 'TypeConflictError';

  constructor(
    readonly conflict: FieldTypeConflict,
    readonly index?: number,
  ) {
    super(
      `field type conflict: "${conflict.field}" of measurement "${conflict.measurement}" is ` +
        `stored as ${conflict.stored}, this value is ${conflict.incoming}`,
    );
  }
}

/**
 * InfluxDB could not take the points and the spool could not either (`full`: SPOOL_MAX_BYTES
 * reached): nothing was kept, the caller may try again after `retryAfterSeconds`.
 */
export class NotKeptError extends Error {
  override readonly name = 'NotKeptError';

  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    readonly full: boolean,
  ) {
    super(message);
  }
}
