import { ConfigType, registerAs } from '@nestjs/config';
import { ConfigError, Env, integer, matching, text } from '../env';
import { keyRule, MEASUREMENT } from './event-point';

/** Keys that identify one event; as tags they would make a series per event. */
const NEVER_TAGS = new Set(['uid', 'event_id', 'time']);

export function parseEventsConfig(env: Env) {
  const tableName =
    matching(env, 'TABLE_NAME', MEASUREMENT, 'must match ^[A-Za-z0-9_.-]{1,128}$') ?? 'analytics';
  const tagKeys = (text(env, 'EVENT_TAGS') ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '' && key !== 'event');
  for (const key of tagKeys) {
    // Any event key can be a tag (the original had `tags_app-name` as one), but a key with a
    // comma cannot be listed, and spaces around a key are taken for list formatting.
    if (keyRule(key)) {
      throw new ConfigError(
        'EVENT_TAGS must be a comma-separated list of event keys (no control characters, none ending in a backslash)',
      );
    }
    if (NEVER_TAGS.has(key)) {
      throw new ConfigError('EVENT_TAGS must not name uid, event_id or time');
    }
  }
  return {
    tableName,
    /** `event` is always a tag; these event keys are tags too. */
    tagKeys: new Set(tagKeys),
    /**
     * Hours back from now within which an id without a time (and a miss at an id's own time)
     * is looked for; 0 lifts the bound (docs/API.md, "Where a read looks"). 168 h is the shard
     * group of an InfluxDB 1.x database with infinite retention: such a read touches one or
     * two shard groups.
     */
    readWindowHours: integer(env, 'EVENT_READ_WINDOW_HOURS', 168, 0, 876_000),
    /**
     * Reads that search the read window (ids without a time) running at once; more are answered
     * 429 with Retry-After, so that a burst of them cannot take InfluxDB from the writes.
     */
    readMaxScans: integer(env, 'EVENT_READ_MAX_SCANS', 1, 1, 1000),
    limits: {
      maxKeys: integer(env, 'MAX_EVENT_KEYS', 256, 2, 10_000),
      maxKeyLength: integer(env, 'MAX_KEY_LENGTH', 128, 8, 1024),
      maxStringBytes: integer(env, 'MAX_STRING_BYTES', 65_536, 16, 16 * 1024 * 1024),
      maxBatchEvents: integer(env, 'MAX_BATCH_EVENTS', 1000, 1, 100_000),
    },
  };
}

export type Limits = ReturnType<typeof parseEventsConfig>['limits'];

export const eventsConfig = registerAs('events', () => parseEventsConfig(process.env));
export type EventsConfig = ConfigType<typeof eventsConfig>;
