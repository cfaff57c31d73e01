import type { HeaderObject, ReferenceObject, SchemaObject } from '@nestjs/swagger';
import { EVENT_ID, EVENT_KEY, MEASUREMENT } from '../events/event-point';

/**
 * The bodies of the API as OpenAPI 3.1 (JSON Schema 2020-12) schemas, under these names in
 * `components.schemas`. Where a DTO class describes a body (EventDto, PointDto), the schema is derived
 * from it by the @nestjs/swagger CLI plugin and only what the class cannot say is added here
 * (BEYOND_CLASSES). The rest are plain schemas: free-form objects, unions and bare strings that
 * decorated classes cannot express.
 */
export type SchemaName =
  | 'Event'
  | 'EventValue'
  | 'Points'
  | 'Point'
  | 'EventBatch'
  | 'LogReply'
  | 'BatchResult'
  | 'StoredEvent'
  | 'Liveness'
  | 'Readiness'
  | 'ReadinessChecks'
  | 'HttpError'
  | 'Refusal'
  | 'RetryLater';

/** A JSON Schema 2020-12 object, as OpenAPI 3.1 has them (Nest's SchemaObject type is 3.0's). */
export interface Schema extends Omit<
  SchemaObject,
  'type' | 'properties' | 'items' | 'additionalProperties' | 'anyOf' | 'not' | 'examples'
> {
  type?: string | string[];
  const?: unknown;
  properties?: Record<string, Schema | ReferenceObject>;
  items?: Schema | ReferenceObject;
  additionalProperties?: Schema | ReferenceObject | boolean;
  propertyNames?: Schema;
  anyOf?: Array<Schema | ReferenceObject>;
  not?: Schema;
  examples?: unknown[];
}

/** The schemas derived from DTO classes (see openapi-document.ts). */
export type DerivedName = 'Event' | 'Point';

/**
 * What OpenAPI needs beyond the classes: the value types of free-form maps (JSON Schema 2020-12
 * type lists, which Nest's 3.0 types cannot spell), patterns given as constants, and that no
 * other key is allowed. Merged property by property over the derived schema.
 */
export const BEYOND_CLASSES: Record<DerivedName, Schema> = {
  Event: {
    description:
      'Generation 1.0: one event. `event` and `uid` are required; any other key is stored as ' +
      'given. A key is any non-empty text without control characters that does not end in a ' +
      'backslash (`tags_app-name`, `a b` and `x=y` are keys); nested objects are flattened with ' +
      '`_` (`{"a": {"b": 1}}` is stored as `a_b`); arrays are refused; `null` values are ' +
      'dropped; `time` is reserved (the server stamps events). Limits: MAX_EVENT_KEYS, ' +
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
          'server makes `entry_<32 hex>`: 16 hex digits of the nanosecond timestamp, then 16 random.',
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
};

export function ref(name: SchemaName): ReferenceObject {
  return { $ref: `#/components/schemas/${name}` };
}

const SCALAR = ['string', 'number', 'boolean'];
const FIELD_TYPE: Schema = { type: 'string', enum: ['float', 'integer', 'string', 'boolean'] };
const UP_DOWN: Schema = { type: 'string', enum: ['up', 'down'] };
const REJECTED: Schema = {
  type: 'array',
  description: 'The events not kept, by index, with the reason.',
  items: {
    type: 'object',
    required: ['index', 'reason'],
    properties: {
      index: { type: 'integer', minimum: 0 },
      reason: { type: 'string' },
      status: {
        type: 'integer',
        description: 'Only for an event not kept just then (503: the spool full): send it again.',
      },
      retryAfter: { type: 'integer', description: 'With `status`: seconds to wait first.' },
    },
  },
};

export const SCHEMAS: Record<Exclude<SchemaName, DerivedName>, Schema> = {
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
  BatchResult: {
    type: 'object',
    required: ['event_ids', 'rejected'],
    properties: {
      event_ids: {
        type: 'array',
        description: 'Aligned with the input: the id of each event kept, `null` where rejected.',
        items: { type: ['string', 'null'] },
      },
      rejected: REJECTED,
    },
    examples: [
      {
        event_ids: ['entry_2d1c0ae39a6a4c0e9f5b8f2a1b0c7d61', null],
        rejected: [{ index: 1, reason: 'uid: is required (a string, may be empty, or a number)' }],
      },
    ],
  },
  StoredEvent: {
    type: 'object',
    description:
      'One event as one flat object: `status`, `time`, `event_id`, `event`, `uid` and every ' +
      'other key it was stored with (no `null` padding for keys of other events), each once ' +
      'under its own name, also where the original service stored keys as both tag and field. ' +
      '`uid` is missing only for an event sent with a null uid (or stored so by the original).',
    required: ['status', 'time', 'event_id', 'event'],
    properties: {
      status: {
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
      time: {
        type: 'string',
        format: 'date-time',
        description: 'When the server received it, RFC 3339 in nanoseconds.',
      },
      event_id: { type: 'string' },
      event: { type: 'string' },
      uid: {
        type: ['string', 'number'],
        description: 'Text, or a number where `uid` is a numeric field (or the event is queued).',
      },
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
  Liveness: {
    type: 'object',
    description: 'These three keys first; more may follow.',
    required: ['status', 'name', 'version'],
    properties: {
      status: { const: 'ok' },
      name: { const: 'stats-service' },
      version: { type: 'string', description: 'The version in package.json.' },
    },
    examples: [{ status: 'ok', name: 'stats-service', version: '2.0.0' }],
  },
  Readiness: {
    type: 'object',
    description:
      'Terminus: `info` holds the checks that are up, `error` those that are down, `details` all.',
    required: ['status', 'info', 'error', 'details'],
    properties: {
      status: { type: 'string', enum: ['ok', 'error'] },
      info: ref('ReadinessChecks'),
      error: ref('ReadinessChecks'),
      details: ref('ReadinessChecks'),
    },
    examples: [
      {
        status: 'ok',
        info: {
          shutdown: { status: 'up' },
          influxdb: { status: 'up', mode: 'v1' },
          spool: { status: 'up', bytes: 0, records: 0, maxBytes: 1073741824 },
        },
        error: {},
        details: {
          shutdown: { status: 'up' },
          influxdb: { status: 'up', mode: 'v1' },
          spool: { status: 'up', bytes: 0, records: 0, maxBytes: 1073741824 },
        },
      },
    ],
  },
  ReadinessChecks: {
    type: 'object',
    additionalProperties: false,
    properties: {
      shutdown: {
        type: 'object',
        description: 'Down from SIGTERM on.',
        required: ['status'],
        properties: { status: UP_DOWN, message: { type: 'string' } },
      },
      influxdb: {
        type: 'object',
        description: 'Up when InfluxDB answers its ping within 2 s.',
        required: ['status', 'mode'],
        properties: {
          status: UP_DOWN,
          mode: { type: 'string', enum: ['v1', 'v2'], description: 'The write API (INFLUX_API).' },
          message: { type: 'string' },
        },
      },
      spool: {
        type: 'object',
        description:
          'Down from the first event refused for lack of room (SPOOL_MAX_BYTES) until the spool ' +
          'has drained below SPOOL_LOW_WATER_BYTES.',
        required: ['status', 'bytes', 'records', 'maxBytes'],
        properties: {
          status: UP_DOWN,
          bytes: { type: 'integer', minimum: 0 },
          records: { type: 'integer', minimum: 0 },
          maxBytes: { type: 'integer', minimum: 1 },
          message: { type: 'string' },
        },
      },
    },
  },
  HttpError: {
    type: 'object',
    required: ['statusCode', 'error', 'message'],
    properties: {
      statusCode: { type: 'integer' },
      error: { type: 'string', description: 'The status text.' },
      message: { type: 'string' },
    },
    examples: [
      {
        statusCode: 404,
        error: 'Not Found',
        message: 'no event with id "entry_00000000000000000000000000000000"',
      },
    ],
  },
  Refusal: {
    type: 'object',
    description:
      'Which key and why. Values are never echoed. A field type conflict adds the `stored` ' +
      'and `incoming` types; a batch with no valid event adds `event_ids` and `rejected`.',
    required: ['statusCode', 'error', 'message', 'key', 'rule'],
    properties: {
      statusCode: { const: 400 },
      error: { const: 'Bad Request' },
      message: { type: 'string', description: 'Where (`[index].key`) and the rule, in one line.' },
      key: {
        type: 'string',
        description: 'The offending key (`fields.count`, `a_b`); empty for the body as a whole.',
      },
      index: { type: 'integer', minimum: 0, description: 'The element of an array body.' },
      rule: { type: 'string', description: 'What the key broke.' },
      stored: { ...FIELD_TYPE, description: 'Type conflict: the type InfluxDB holds.' },
      incoming: { ...FIELD_TYPE, description: 'Type conflict: the type of this value.' },
      event_ids: {
        type: 'array',
        description: 'POST /log/events: one `null` per event.',
        items: { type: 'null' },
      },
      rejected: { ...REJECTED, description: 'POST /log/events: why each event was refused.' },
    },
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
  RetryLater: {
    type: 'object',
    description: 'Nothing of the request was kept; send it again after `retryAfter` seconds.',
    required: ['statusCode', 'error', 'message', 'retryAfter'],
    properties: {
      statusCode: { type: 'integer', enum: [429, 503] },
      error: { type: 'string', enum: ['Too Many Requests', 'Service Unavailable'] },
      message: { type: 'string' },
      retryAfter: {
        type: 'integer',
        minimum: 1,
        description: 'Seconds, as in the Retry-After header.',
      },
    },
    examples: [
      {
        statusCode: 503,
        error: 'Service Unavailable',
        message:
          'InfluxDB is unavailable and the spool is full (SPOOL_MAX_BYTES); nothing was stored, try again later',
        retryAfter: 30,
      },
    ],
  },
};

/** Response headers. */
export const RETRY_AFTER: HeaderObject = {
  description: 'Whole seconds to wait before sending the request again.',
  schema: { type: 'integer', minimum: 1 },
};

export const WWW_AUTHENTICATE: HeaderObject = {
  description: 'The scheme to authenticate with.',
  schema: { type: 'string', enum: ['Token'] },
};

export const EVENT_STATUS: HeaderObject = {
  description:
    'Where the event is: `stored` in InfluxDB or `queued` in the spool, even when the body ' +
    'carries a `status` key of the event itself.',
  schema: { type: 'string', enum: ['stored', 'queued'] },
};
