import {
  BadRequestException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  NestMiddleware,
  PayloadTooLargeException,
} from '@nestjs/common';
import { text } from 'body-parser';
import type { NextFunction, Request, Response } from 'express';
import { httpConfig, HttpConfig } from './http.config';

/**
 * Reads a POST body as JSON whatever its Content-Type: the original (Pyramid's `json_body`)
 * did, so `curl -d '{...}'` without a JSON content type works as it always has.
 * `Content-Encoding: gzip`/`deflate` bodies are inflated as a stream, and MAX_BODY_BYTES
 * bounds the inflated size: a small body that inflates past it is cut off at the limit.
 * Errors are thrown as Nest exceptions (JSON bodies); parse errors never quote the body.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  private readonly read: (req: Request, res: Response, next: (error?: unknown) => void) => void;

  constructor(@Inject(httpConfig.KEY) private readonly config: HttpConfig) {
    this.read = text({
      type: () => true,
      limit: config.maxBodyBytes,
      inflate: true,
      defaultCharset: 'utf-8',
    });
  }

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    if (req.method !== 'POST') return next();
    await new Promise<void>((resolve, reject) =>
      this.read(req, res, (error?: unknown) => (error ? reject(this.refusal(error)) : resolve())),
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
    next();
  }

  private refusal(error: unknown): HttpException {
    const type = (error as { type?: string }).type;
    switch (type) {
      case 'entity.too.large':
        return new PayloadTooLargeException(
          `the body is larger than ${this.config.maxBodyBytes} bytes (MAX_BODY_BYTES), after decompression`,
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
