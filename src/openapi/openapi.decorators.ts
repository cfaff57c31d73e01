import { applyDecorators } from '@nestjs/common';
import {
  ApiBadRequestResponse,
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

/** A route behind the global TokenGuard: the token scheme, 401, and 429 (rate limit). */
export function ApiTokenAuth(): ClassDecorator & MethodDecorator {
  return applyDecorators(
    ApiSecurity(TOKEN_SCHEME),
    ApiUnauthorizedResponse({
      description: 'Missing, malformed, badly signed, expired or unknown token.',
      headers: { 'WWW-Authenticate': WWW_AUTHENTICATE },
      schema: ref('HttpError'),
    }),
    ApiTooManyRequestsResponse({
      description: "Over RATE_LIMIT_PER_SECOND for the token's user: nothing was stored.",
      headers: { 'Retry-After': RETRY_AFTER },
      schema: ref('RetryLater'),
    }),
  );
}

/** 503 with Retry-After: nothing was kept, send it again later. */
export function ApiRetryLater(description: string): MethodDecorator & ClassDecorator {
  return ApiServiceUnavailableResponse({
    description,
    headers: { 'Retry-After': RETRY_AFTER },
    schema: ref('RetryLater'),
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
    ApiPayloadTooLargeResponse({ description: tooLarge, schema: ref('HttpError') }),
    ApiUnsupportedMediaTypeResponse({
      description:
        'A Content-Encoding other than gzip, deflate, br or identity, or a Content-Type charset that cannot be decoded.',
      schema: ref('HttpError'),
    }),
    ApiRetryLater(
      'InfluxDB is unavailable and the spool is full (SPOOL_MAX_BYTES): nothing was kept.',
    ),
  );
}
