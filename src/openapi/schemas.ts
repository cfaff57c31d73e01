import type { HeaderObject, ReferenceObject, SchemaObject } from '@nestjs/swagger';

/**
 * The names of the API's bodies in `components.schemas`. Each is derived from a DTO class by
 * the @nestjs/swagger CLI plugin (nest-cli.json), with only what the class cannot say added
 * beside it (events/events.openapi.ts, health/health-bodies.dto.ts); the few that are no
 * class (free-form values, arrays, a bare string) are plain schemas (EVENTS_SCHEMAS). This
 * file imports nothing of the app, so that any controller can refer to a schema by name.
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

export function ref(name: SchemaName): ReferenceObject {
  return { $ref: `#/components/schemas/${name}` };
}

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
