import type { Schema } from '../openapi/schemas';
import { ref } from '../openapi/schemas';
import { EVENT_ID, EVENT_KEY, MEASUREMENT } from './event-point';

const SCALAR = ['string', 'number', 'boolean'];

/**
 * What OpenAPI needs of the events API beyond its DTO classes (EventDto, PointDto,
 * BatchResultDto, StoredEventDto, RefusalDto), from which the @nestjs/swagger CLI plugin
 * derives the schemas: the value types of free-form maps (JSON Schema 2020-12 type lists, which
 * Nest's 3.0 types cannot spell), patterns given as constants, that no other key is allowed,
 * and examples. Merged property by property over the derived schema (openapi-document.ts).
 */
export const EVENTS_BEYOND_CLASSES: Record<string, Schema> = {
  Event: {
    description:
      'Generation 1.0: one event. `event` and `uid` are required; any other key is stored as ' +
      'given. A key is any non-empty text without control characters that does not end in a ' +
      'backslash (`tags_app-name`, `a b` and `x=y` are keys); nested objects are flattened with ' +
      '`_` (`{"a": {"b": 1}}` is stored as `a_b`); arrays are refused; `null` values are ' +
      'dropped; `time`, when given, is when it happened (else the receive time). Limits: MAX_EVENT_KEYS, ' +
      'MAX_KEY_LENGTH, MAX_STRING_BYTES.',
    properties: {
      // IsNotEmpty, which the plugin does not translate.
      event: { minLength: 1 },
      // A JSON Schema type list, which the plugin cannot spell for `string | number | null`.
      uid: {
        type: ['string', 'number', 'null'],
        description:
          "Ties one user's or one system's events together; may be empty; `null` is dropped " +
          '(the key is still required). A number is stored as its decimal text, unless `uid` is ' +
          'already a numeric field of the measurement (data the original service wrote), where ' +
          'it stays a number.',
      },
      event_id: {
        type: 'string',
        description:
          `The client's own id, kept when it matches \`${EVENT_ID.source}\`; otherwise the ` +
          'server makes `entry_<32 hex>`: 16 hex digits of the nanosecond timestamp, then 16 random. ' +
          'An event with a client id resent within DEDUP_WINDOW_HOURS is stored once.',
      },
      time: {
        type: ['string', 'integer'],
        description:
          'When it happened: RFC 3339 with a zone (fraction down to the nanosecond) or whole ' +
          "milliseconds since the epoch. At most MAX_EVENT_FUTURE_SECONDS ahead of the server's " +
          'clock, and no older than the retention policy keeps. Without it: the receive time.',
        examples: ['2026-12-03T07:25:00.123Z', 1796282700123],
      },
    },
    propertyNames: { pattern: EVENT_KEY.source, not: { const: 'time' } },
    additionalProperties: ref('EventValue'),
    examples: [
      { event: 'pnc.test', uid: 'oisin', now: '2016-07-12T10:52:11.123456' },
      { event: 'purchase', uid: 'user_42', amount: 9.99, basket: { items: 3 } },
    ],
  },
  Point: {
    description:
      'Other keys of an element are ignored, as the original ignored them. A key may be both a ' +
      'tag and a field.',
    properties: {
      measurement: { pattern: MEASUREMENT.source },
      tags: {
        type: ['object', 'null'],
        additionalProperties: { type: ['string', 'number', 'boolean', 'null'] },
      },
      fields: {
        minProperties: 1,
        additionalProperties: { type: ['string', 'number', 'boolean', 'null'] },
      },
    },
  },
  BatchResult: {
    properties: { event_ids: { type: 'array', items: { type: ['string', 'null'] } } },
    examples: [
      {
        event_ids: ['entry_2d1c0ae39a6a4c0e9f5b8f2a1b0c7d61', null],
        rejected: [{ index: 1, reason: 'uid: is required (a string, may be empty, or a number)' }],
      },
    ],
  },
  StoredEvent: {
    properties: {
      status: {
        // Either of two: not the class's one type.
        type: undefined,
        anyOf: [
          {
            type: 'string',
            enum: ['stored', 'queued'],
            description: '`stored` in InfluxDB, or `queued` in the spool (stored soon).',
          },
          {
            type: SCALAR,
            description: "The event's own `status` key, when it has one: it keeps its value.",
          },
        ],
      },
      uid: { type: ['string', 'number'] },
    },
    additionalProperties: { type: SCALAR },
    examples: [
      {
        status: 'stored',
        time: '2026-11-28T00:07:27.217432391Z',
        event: 'pnc.test',
        event_id: 'entry_2d1c0ae39a6a4c0e9f5b8f2a1b0c7d61',
        now: '2016-07-12T10:52:11.123456',
        uid: 'oisin',
      },
    ],
  },
  Refusal: {
    properties: { event_ids: { type: 'array', items: { type: 'null' } } },
    examples: [
      {
        statusCode: 400,
        error: 'Bad Request',
        message: '[2].fields.count: must be a string, a finite number, a boolean or null',
        index: 2,
        key: 'fields.count',
        rule: 'must be a string, a finite number, a boolean or null',
      },
    ],
  },
};

/** The events API's bodies that are no class: free-form values, arrays and a bare string. */
export const EVENTS_SCHEMAS: Record<string, Schema> = {
  EventValue: {
    type: [...SCALAR, 'null', 'object'],
    description:
      'A string, number or boolean is stored as given; `null` is dropped; an object is ' +
      'flattened with `_`.',
    propertyNames: { pattern: EVENT_KEY.source },
    additionalProperties: ref('EventValue'),
  },
  Points: {
    type: 'array',
    description:
      'Generation 1.1: points. The whole array is checked before anything is written: one bad ' +
      'element gets 400 naming its index, and nothing of the array is stored. An empty array ' +
      'is answered `"OK"` and stores nothing.',
    items: ref('Point'),
    examples: [
      [
        {
          measurement: 'restarts',
          tags: { host: 'web-1', canary: true },
          fields: { count: 1, reason: 'deploy' },
        },
      ],
    ],
  },
  EventBatch: {
    type: 'array',
    description:
      'Events (object form), each validated and stored on its own; at most MAX_BATCH_EVENTS ' +
      '(default 1000).',
    minItems: 1,
    items: ref('Event'),
    examples: [
      [
        { event: 'login', uid: 'user_42' },
        { event: 'login', uid: 'user_43', event_id: 'web-1:1718000000:7' },
      ],
    ],
  },
  LogReply: {
    type: 'string',
    description:
      "For an event: its id (the client's `event_id` when kept, else `entry_<32 hex>`). For " +
      'points: `"OK"`.',
    examples: ['entry_2d1c0ae39a6a4c0e9f5b8f2a1b0c7d61', 'OK'],
  },
};
