/**
 * What a write to InfluxDB can end in, besides success. The service maps these to HTTP answers:
 * InfluxUnavailableError → the events go to the spool (202), InfluxRefusedError → 400.
 */

/**
 * InfluxDB did not answer, timed out, or answered anything but a refusal of the data (5xx,
 * 429, 408, 401/403 for our credentials, 404 for a bucket that is gone): try again later.
 */
export class InfluxUnavailableError extends Error {
  override readonly name = 'InfluxUnavailableError';
}

/** A field whose incoming type differs from the one InfluxDB already holds. */
export interface FieldTypeConflict {
  measurement: string;
  field: string;
  /** The type the refused value would have been stored as. */
  incoming: string;
  /** The type InfluxDB already holds for that field. */
  stored: string;
}

/** InfluxDB refused (4xx) the data itself: retrying the same lines cannot succeed. */
export class InfluxRefusedError extends Error {
  override readonly name = 'InfluxRefusedError';

  constructor(
    message: string,
    readonly status: number,
    readonly conflict?: FieldTypeConflict,
  ) {
    super(message);
  }
}

// InfluxDB 1.x: `partial write: field type conflict: input field "x" on measurement "m" is type
// string, already exists as type float dropped=1`; 2.x words it the same way inside its JSON body.
const CONFLICT =
  /field type conflict: input field "((?:[^"\\]|\\.)*)" on measurement "((?:[^"\\]|\\.)*)" is type (\w+), already exists as type (\w+)/;

export function parseFieldTypeConflict(message: string): FieldTypeConflict | undefined {
  const match = CONFLICT.exec(message);
  if (!match) return undefined;
  const [, field, measurement, incoming, stored] = match;
  return { field: field!, measurement: measurement!, incoming: incoming!, stored: stored! };
}
