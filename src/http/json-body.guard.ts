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
import { text } from 'body-parser';
import type { Request, Response } from 'express';
import { httpConfig, HttpConfig } from './http.config';
import { bodyRead } from './write-admission';

/**
 * Reads a POST body as JSON whatever its Content-Type: the original (Pyramid's `json_body`)
 * did, so `curl -d '{...}'` without a JSON content type works as it always has.
 * `Content-Encoding: gzip`/`deflate`/`br` bodies are inflated as a stream, and MAX_BODY_BYTES
 * bounds the inflated size: a small body that inflates past it is cut off at the limit.
 * Errors are thrown as Nest exceptions (JSON bodies); parse errors never quote the body.
 */
export class JsonBodyReader {
  private readonly parse: (req: Request, res: Response, next: (error?: unknown) => void) => void;

  constructor(private readonly maxBodyBytes: number) {
    this.parse = text({
      type: () => true,
      limit: maxBodyBytes,
      inflate: true,
      defaultCharset: 'utf-8',
    });
  }

  /** Reads the body and sets `req.body` to its JSON value, or throws the refusal. */
  async read(req: Request, res: Response): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.parse(req, res, (error?: unknown) => (error ? reject(this.refusal(error)) : resolve())),
    );
    const body: unknown = req.body;
    if (typeof body !== 'string' || body.trim() === '') {
      throw new BadRequestException('the body must be a JSON object or array; it is empty');
    }
    try {
      req.body = JSON.parse(body) as unknown;
    } catch {
      throw new BadRequestException('the body is not valid JSON');
    }
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
 * Reads POST bodies with {@link JsonBodyReader}: the last global guard, registered by
 * JsonBodyModule, which app.module.ts imports after AuthModule (Nest runs global guards in the
 * order their modules are imported), so a request without a valid token gets its 401 before
 * anything of its body is read, inflated or parsed (README "Tokens"). Other methods pass with
 * their body unread.
 *
 * A guard rather than an interceptor: a global interceptor put Nest's RxJS plumbing
 * (defer, mergeAll, AsyncResource.bind and its deprecation check) on every request, about 6%
 * of the CPU profile at one event per request (README "Performance").
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
