import type { INestApplication } from '@nestjs/common';
import {
  DocumentBuilder,
  SwaggerModule,
  type OpenAPIObject,
  type SchemaObject,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { BatchResultDto } from '../events/batch-result.dto';
import { EventDto } from '../events/event.dto';
import { EVENTS_BEYOND_CLASSES, EVENTS_SCHEMAS } from '../events/events.openapi';
import { PointDto } from '../events/point.dto';
import { RefusalDto } from '../events/refusal.dto';
import { StoredEventDto } from '../events/stored-event.dto';
import { HEALTH_BEYOND_CLASSES, LivenessDto, ReadinessDto } from '../health/health-bodies.dto';
import { VERSION as version } from '../version';
import { ERROR_BEYOND_CLASSES, HttpErrorDto, RetryLaterDto } from '../openapi/error-bodies.dto';
import { TOKEN_SCHEME } from '../openapi/openapi.decorators';
import { replacementSafe } from './replacement-safe';
import type { Schema } from '../openapi/schemas';

/** The UI is served at `/docs`, the document at `/docs-json`. */
export const DOCS_PATH = 'docs';

const DESCRIPTION = [
  'In-house services POST analytics events here with an access token; they are stored in',
  'InfluxDB. Wire-compatible with the original Python stats-service.',
  '',
  'Every route also answers with a trailing slash. POST bodies are read as JSON whatever their',
  'Content-Type. Unknown routes and methods get a JSON 404.',
].join('\n');

const TOKEN_DESCRIPTION = [
  'The whole `Authorization` header value: `Token <t>`, where `<t>` is the access token',
  '(base64url with `=` padding of the payload JSON and its HMAC-SHA512 signature).',
  '`Bearer <t>`, `Token<t>` and a bare `<t>` are accepted too. The signing key is HKDF-SHA512',
  "of the UTF-8 text of the user's `access_secret`, with an empty salt and the info",
  "`services.mozilla.com/tokenlib/v1/signing`, 64 bytes long; the payload's `identity` names",
  'the user, and `expires` below 1e9 never expires (above 5). See docs/TOKENS.md for test vectors.',
].join(' ');

/** The DTO classes the body schemas are derived from (the classes they refer to come along). */
const BODY_CLASSES = [
  EventDto,
  PointDto,
  BatchResultDto,
  StoredEventDto,
  RefusalDto,
  HttpErrorDto,
  RetryLaterDto,
  LivenessDto,
  ReadinessDto,
];

/** What each derived schema needs beyond its class, by schema name. */
const BEYOND_CLASSES: Record<string, Schema> = {
  ...EVENTS_BEYOND_CLASSES,
  ...ERROR_BEYOND_CLASSES,
  ...HEALTH_BEYOND_CLASSES,
};

/** The liveness routes, whose HEAD the README names; Express answers it for every GET. */
const LIVENESS = { '/': 'root', '/ping': 'ping' } as const;

/**
 * The OpenAPI 3.1 document of every controller route. Built once, at start-up, from the
 * decorators on the controllers and the DTO classes of the bodies, with what they cannot say
 * merged in (BEYOND_CLASSES), and the few bodies that are no class (EVENTS_SCHEMAS).
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('stats-service')
    .setDescription(DESCRIPTION)
    .setVersion(version)
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'Authorization', description: TOKEN_DESCRIPTION },
      TOKEN_SCHEME,
    )
    .build();
  config.components = {
    ...config.components,
    // The schemas are JSON Schema 2020-12, which Nest's 3.0 SchemaObject type cannot spell.
    schemas: EVENTS_SCHEMAS as Record<string, SchemaObject>,
  };
  const document = SwaggerModule.createDocument(app, config, { extraModels: BODY_CLASSES });
  const schemas = document.components!.schemas as Record<string, Schema>;
  for (const [name, beyond] of Object.entries(BEYOND_CLASSES)) {
    const derived = schemas[name];
    if (!derived) throw new Error(`OpenAPI: no schema ${name} derived from its class`);
    schemas[name] = beyondClass(derived, beyond);
  }
  for (const [path, name] of Object.entries(LIVENESS)) {
    const item = document.paths[path];
    if (!item?.get) throw new Error(`OpenAPI: no GET ${path} to document HEAD for`);
    item.get.operationId = name;
    item.head = {
      ...item.get,
      operationId: `${name}Head`,
      summary: `${item.get.summary ?? ''} (headers only)`,
      responses: { '200': { description: 'Alive; no body.' } },
    };
  }
  return document;
}

/**
 * The schema the plugin derived from a class, with what OpenAPI needs beyond it merged in
 * property by property (and the properties only OpenAPI names, after the class's). `nullable` (OpenAPI 3.0) gives way to 3.1's type lists.
 */
function beyondClass(derived: Schema, beyond: Schema): Schema {
  const properties: Record<string, Schema> = {};
  const keys = new Set([
    ...Object.keys(derived.properties ?? {}),
    ...Object.keys(beyond.properties ?? {}),
  ]);
  for (const key of keys) {
    const property = derived.properties?.[key] ?? {};
    const merged: Schema & { nullable?: boolean } = {
      ...(property as Schema),
      ...(beyond.properties?.[key] as Schema | undefined),
    };
    delete merged.nullable;
    properties[key] = merged;
  }
  return { ...derived, ...beyond, properties };
}

/**
 * Serves the document at `/docs-json` and the Swagger UI at `/docs`, its assets from the
 * swagger-ui-dist package (nothing from a CDN). These are plain Express routes, registered
 * before Nest's: the global TokenGuard does not see them, so they need no token. The UI's
 * `swagger-ui-init.js` embeds the document through a string replace: it gets the
 * replacement-safe copy (see replacement-safe.ts), so any description renders.
 */
export function setupOpenApi(app: INestApplication): void {
  const document = createOpenApiDocument(app);
  const forInitScript = replacementSafe(document);
  SwaggerModule.setup(DOCS_PATH, app, document, {
    raw: ['json'],
    customSiteTitle: 'stats-service API',
    // No request to validator.swagger.io: the machines have no network.
    swaggerOptions: { validatorUrl: null },
    patchDocumentOnRequest: <TRequest>(
      request: TRequest,
      _response: unknown,
      doc: OpenAPIObject,
    ) => ((request as Request).path.endsWith('/swagger-ui-init.js') ? forInitScript : doc),
  });
}
