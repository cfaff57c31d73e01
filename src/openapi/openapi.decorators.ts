import { applyDecorators } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiForbiddenResponse,
  ApiHeader,
  ApiPayloadTooLargeResponse,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import { ref, RETRY_AFTER, WWW_AUTHENTICATE } from './schemas';

/** The name of the security scheme in `components.securitySchemes`. */
export const TOKEN_SCHEME = 'Token';

/**
 * The bodies the service answers for each refusal, with the shipped defaults, as the API page
 * shows them: without an example of its own a response would show its schema's, one 404 for
 * every status. test/docs-browser.e2e-spec.ts compares each, as Swagger UI renders it, with a
 * real answer of the service.
 */
export const ERROR_EXAMPLES = {
  401: { statusCode: 401, error: 'Unauthorized', message: 'unknown token' },
  403: {
    statusCode: 403,
    error: 'Forbidden',
    message:
      'this token may not write events: it needs the scope "write", and its scopes in the access file are "read"',
    scope: 'write',
  },
  413: {
    statusCode: 413,
    error: 'Payload Too Large',
    message: 'the body is larger than 1048576 bytes (MAX_BODY_BYTES), after decompression',
  },
  415: {
    statusCode: 415,
    error: 'Unsupported Media Type',
    message: 'Content-Encoding must be gzip, deflate, br or identity',
  },
  429: {
    statusCode: 429,
    error: 'Too Many Requests',
    message: 'too many requests for this token (RATE_LIMIT_PER_SECOND); nothing was stored',
    retryAfter: 1,
  },
  503: {
    statusCode: 503,
    error: 'Service Unavailable',
    message:
      'InfluxDB is unavailable and the spool is full (SPOOL_MAX_BYTES); nothing was stored, try again later',
    retryAfter: 30,
  },
} as const;

/** A route behind the global TokenGuard: the token scheme, 401, 403 (scope) and 429 (rate limit). */
export function ApiTokenAuth(): ClassDecorator & MethodDecorator {
  return applyDecorators(
    ApiSecurity(TOKEN_SCHEME),
    ApiUnauthorizedResponse({
      description: 'Missing, malformed, badly signed, expired or unknown token.',
      headers: { 'WWW-Authenticate': WWW_AUTHENTICATE },
      schema: ref('HttpError'),
      example: ERROR_EXAMPLES[401],
    }),
    ApiForbiddenResponse({
      description:
        'The token is valid but outside its scopes in the access file: `write` for POST, ' +
        '`read` for GET /log/event/{id}; `scope` names the one it lacks.',
      schema: ref('HttpError'),
      example: ERROR_EXAMPLES[403],
    }),
    ApiTooManyRequestsResponse({
      description:
        "Over RATE_LIMIT_PER_SECOND for the token's user: refused at once, the body unread; nothing was stored.",
      headers: { 'Retry-After': RETRY_AFTER },
      schema: ref('RetryLater'),
      example: ERROR_EXAMPLES[429],
    }),
  );
}

/** 503 with Retry-After: nothing was kept, send it again later. */
export function ApiRetryLater(description: string): MethodDecorator & ClassDecorator {
  return ApiServiceUnavailableResponse({
    description,
    headers: { 'Retry-After': RETRY_AFTER },
    schema: ref('RetryLater'),
    example: ERROR_EXAMPLES[503],
  });
}

/**
 * What a POST body can be refused with. JsonBodyGuard reads it as JSON whatever its
 * Content-Type, inflating gzip, deflate and br up to MAX_BODY_BYTES, once the token is accepted.
 */
export function ApiBodyRefusals(refused: string, tooLarge: string): MethodDecorator {
  return applyDecorators(
    ApiHeader({
      name: 'Content-Encoding',
      required: false,
      description: 'MAX_BODY_BYTES bounds the inflated size.',
      schema: { type: 'string', enum: ['gzip', 'deflate', 'br', 'identity'] },
    }),
    ApiBadRequestResponse({
      description: `${refused} A body that is not JSON at all gets the plain error body.`,
      schema: { anyOf: [ref('Refusal'), ref('HttpError')] },
    }),
    ApiPayloadTooLargeResponse({
      description: tooLarge,
      schema: ref('HttpError'),
      example: ERROR_EXAMPLES[413],
    }),
    ApiUnsupportedMediaTypeResponse({
      description:
        'A Content-Encoding other than gzip, deflate, br or identity, or a Content-Type charset that cannot be decoded.',
      schema: ref('HttpError'),
      example: ERROR_EXAMPLES[415],
    }),
    ApiRetryLater(
      'InfluxDB is unavailable and the spool is full (SPOOL_MAX_BYTES): nothing was kept.',
    ),
  );
}
