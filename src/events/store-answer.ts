import { HttpStatus, NotFoundException } from '@nestjs/common';
import { RetryLaterException } from '../http/retry-later.exception';
import type { NotKept, ReadOutcome } from '../store/store.outcomes';
import { quote } from '../http/quote';
import { Refusal } from '../http/refusal';

/**
 * The HTTP answer to what the store did not keep: a field type conflict is a 400 naming the
 * field (and, for an array, the index) with both types; a refusal by InfluxDB a 400 with its
 * status; "nothing kept" a 503 with Retry-After.
 */
export function answerOf(notKept: NotKept): Refusal | RetryLaterException {
  switch (notKept.kind) {
    case 'type_conflict': {
      const { conflict, index } = notKept;
      const key = index === undefined ? conflict.field : `fields.${conflict.field}`;
      // The field and measurement names are client input: quoted short, as in every refusal.
      // A conflict with a rule is a value the field's type cannot hold exactly (an integer
      // beyond ±2^53 in a float field): the rule says why.
      const rule =
        conflict.rule ??
        `field type conflict: "${quote(conflict.field)}" of measurement ` +
          `"${quote(conflict.measurement)}" is stored as ${conflict.stored}, this value is ${conflict.incoming}`;
      return new Refusal(key, rule, index, {
        stored: conflict.stored,
        incoming: conflict.incoming,
      });
    }
    case 'refused':
      return new Refusal('', `InfluxDB refused the data (status ${notKept.status})`);
    case 'spool_full':
      return new RetryLaterException(
        'InfluxDB is unavailable and the spool is full (SPOOL_MAX_BYTES); nothing was stored, try again later',
        notKept.retryAfterSeconds,
      );
    case 'spool_unavailable':
      return new RetryLaterException(
        'InfluxDB is unavailable and the spool cannot be written; nothing was stored, try again later',
        notKept.retryAfterSeconds,
      );
  }
}

/** The `reason` label of stats_events_total for what the store did not keep. */
export function reasonOf(notKept: NotKept): string {
  switch (notKept.kind) {
    case 'type_conflict':
      return 'type_conflict';
    case 'refused':
      return 'invalid';
    case 'spool_full':
      return 'spool_full';
    case 'spool_unavailable':
      return 'unavailable';
  }
}

/** The HTTP answer to a read that found nothing: 404, 503 or 429 with Retry-After. */
export function readAnswerOf(
  outcome: Exclude<ReadOutcome, { kind: 'found' }>,
  id: string,
): NotFoundException | RetryLaterException {
  switch (outcome.kind) {
    case 'not_found':
      return new NotFoundException(`no event with id ${JSON.stringify(quote(id))}`);
    case 'unavailable':
      return new RetryLaterException(
        'InfluxDB is unavailable; try again later',
        outcome.retryAfterSeconds,
      );
    case 'busy':
      return new RetryLaterException(
        'too many reads are searching the read window at once (EVENT_READ_MAX_SCANS); try again later',
        outcome.retryAfterSeconds,
        HttpStatus.TOO_MANY_REQUESTS,
      );
  }
}
