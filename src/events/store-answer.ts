import { InfluxRefusedError } from '../influx/influx.errors';
import { RetryLaterException } from '../http/retry-later.exception';
import { NotKeptError, TypeConflictError } from '../store/store.errors';
import { quote } from './quote';
import { Refusal } from './refusal';

/**
 * The HTTP answer to what the store refused: a field type conflict is a 400 naming the field
 * (and, for an array, the index) with both types; a refusal by InfluxDB a 400 with its status;
 * "nothing kept" a 503 with Retry-After. Anything else is returned as it is.
 */
export function answerOf(error: unknown): unknown {
  if (error instanceof TypeConflictError) {
    const { conflict, index } = error;
    const key = index === undefined ? conflict.field : `fields.${conflict.field}`;
    // The field and measurement names are client input: quoted short, as in every refusal.
    const rule =
      `field type conflict: "${quote(conflict.field)}" of measurement ` +
      `"${quote(conflict.measurement)}" is stored as ${conflict.stored}, this value is ${conflict.incoming}`;
    return new Refusal(key, rule, index, {
      stored: conflict.stored,
      incoming: conflict.incoming,
    });
  }
  if (error instanceof InfluxRefusedError) {
    return new Refusal('', `InfluxDB refused the data (status ${error.status})`);
  }
  if (error instanceof NotKeptError) {
    return new RetryLaterException(error.message, error.retryAfterSeconds);
  }
  return error;
}
