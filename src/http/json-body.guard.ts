import {
  BadRequestException,
  CanActivate,
  ExecutionContext,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  PayloadTooLargeException,
} from '@nestjs/common';
import { TextDecoder } from 'node:util';
import { raw } from 'body-parser';
import type { Request, Response } from 'express';
import { parseExactJson, JsonRefusal, type JsonPath } from './exact-json';
import { httpConfig, HttpConfig } from './http.config';
import { bodyRead } from './write-admission';

/** A charset other than UTF-8 that a Content-Type may name; its bytes are decoded first. */
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;
/** The charsets that need no decoding. Made once: a literal in utf8() is a new RegExp each call. */
const UTF8 = /^utf-?8$/i;

/**
 * Reads a POST body as JSON whatever its Content-Type: the original (Pyramid's `json_body`)
 * did, so `curl -d '{...}'` without a JSON content type works as it always has.
 * `Content-Encoding: gzip`/`deflate`/`br` bodies are inflated as a stream, and MAX_BODY_BYTES
 * bounds the inflated size: a small body that inflates past it is cut off at the limit.
 * The bytes are parsed by parseExactJson, so that what is stored is what was sent: integers
 * beyond 2^53 kept exactly (as bigint), invalid UTF-8 and lone surrogates refused naming the
 * key. Errors are thrown as Nest exceptions (JSON bodies); refusals never quote the body.
 */
export class JsonBodyReader {
  private readonly parse: (req: Request, res: Response, next: (error?: unknown) => void) => void;

  constructor(private readonly maxBodyBytes: number) {
    this.parse = raw({ type: () => true, limit: maxBodyBytes, inflate: true });
  }

  /** Reads the body and sets `req.body` to its JSON value, or throws the refusal. */
  async read(req: Request, res: Response): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.parse(req, res, (error?: unknown) => (error ? reject(this.refusal(error)) : resolve())),
    );
    const bytes = utf8(req.body as Buffer, req.headers['content-type']);
    const value = parseExactJson(bytes);
    if (value instanceof JsonRefusal) throw refusalOf(value);
    req.body = value;
  }

  private refusal(error: unknown): HttpException {
    const type = (error as { type?: string }).type;
    switch (type) {
      case 'entity.too.large':
        return new PayloadTooLargeException(
          `the body is larger than ${this.maxBodyBytes} bytes (MAX_BODY_BYTES), after decompression`,
        );
      case 'encoding.unsupported':
        return new HttpException(
          {
            statusCode: 415,
            error: 'Unsupported Media Type',
            message: 'Content-Encoding must be gzip, deflate, br or identity',
          },
          HttpStatus.UNSUPPORTED_MEDIA_TYPE,
        );
      case 'charset.unsupported':
        return new HttpException(
          {
            statusCode: 415,
            error: 'Unsupported Media Type',
            message: 'the charset of the body is not supported; send UTF-8',
          },
          HttpStatus.UNSUPPORTED_MEDIA_TYPE,
        );
      default:
        // Truncated or corrupt compressed data, or the client went away mid-body.
        return new BadRequestException('the body could not be read (truncated or corrupt)');
    }
  }
}

/**
 * The body as UTF-8 bytes: as sent, unless its Content-Type names another charset (the text is
 * then decoded from it; one Node cannot decode is refused 415).
 */
function utf8(body: Buffer | undefined, contentType: string | undefined): Buffer {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
  const charset = contentType === undefined ? undefined : CHARSET.exec(contentType)?.[1];
  if (charset === undefined || UTF8.test(charset)) return bytes;
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(charset);
  } catch {
    throw new HttpException(
      {
        statusCode: 415,
        error: 'Unsupported Media Type',
        message: 'the charset of the body is not supported; send UTF-8',
      },
      HttpStatus.UNSUPPORTED_MEDIA_TYPE,
    );
  }
  return Buffer.from(decoder.decode(bytes), 'utf8');
}

/** At most this much of a key is quoted in a refusal: a key can be as long as the body. */
const QUOTED_KEY = 64;

/**
 * A 400 as the events API words them (`key`, `rule`, `message` = where and rule; `index` the
 * element of an array body, as for every refusal of an element): the key is the JSON path of
 * the key at fault within the body or its element (`fields.count`, `a.b`), cut to 64
 * characters; no value is ever quoted.
 */
function refusalOf(refusal: JsonRefusal): BadRequestException {
  const [first] = refusal.path;
  const index = typeof first === 'number' ? first : undefined;
  const key = displayPath(index === undefined ? refusal.path : refusal.path.slice(1));
  const where = index === undefined ? key : `[${index}]${key === '' ? '' : `.${key}`}`;
  return new BadRequestException({
    statusCode: 400,
    error: 'Bad Request',
    message: where === '' ? refusal.rule : `${where}: ${refusal.rule}`,
    ...(index === undefined ? {} : { index }),
    key,
    rule: refusal.rule,
  });
}

function displayPath(path: JsonPath): string {
  let shown = '';
  for (const piece of path) {
    shown += typeof piece === 'number' ? `[${piece}]` : shown === '' ? piece : `.${piece}`;
  }
  return shown.length > QUOTED_KEY ? `${shown.slice(0, QUOTED_KEY)}…` : shown;
}

/**
 * Reads POST bodies with {@link JsonBodyReader}: the last global guard, listed after the
 * TokenGuard in app.module.ts (Nest runs APP_GUARD providers in the order they are listed), so a
 * request without a valid token gets its 401 before anything of its body is read, inflated or
 * parsed (docs/DEVELOPMENT.md, "Architecture"). Other methods pass with their body unread.
 *
 * A guard rather than an interceptor: a global interceptor put Nest's RxJS plumbing
 * (defer, mergeAll, AsyncResource.bind and its deprecation check) on every request, about 6%
 * of the CPU profile at one event per request (docs/PERFORMANCE.md, "The benchmark").
 */
@Injectable()
export class JsonBodyGuard implements CanActivate {
  private readonly reader: JsonBodyReader;

  constructor(@Inject(httpConfig.KEY) config: HttpConfig) {
    this.reader = new JsonBodyReader(config.maxBodyBytes);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    if (req.method !== 'POST') return true;
    // From now on the write waits only for the store (WriteAdmission).
    await this.reader.read(req, http.getResponse<Response>()).finally(() => bodyRead(req));
    return true;
  }
}
