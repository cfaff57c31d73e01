import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import pino from 'pino';
import type { HttpConfig } from './http.config';
import { PrettyLogWriter } from './pretty-log.writer';

/**
 * What a log line quotes of a caller's text, a request id or a path segment: letters, digits and
 * `_.:-`, at most 40 characters (a UUID is 36, a trace id 32), and not the start of a token
 * (`eyJ`, base64 of `{"`). Anything longer could be a credential pasted where it does not belong
 * (an access secret is 128 hex characters, a token's signature 86 base64url characters, a token
 * 150 or more), and no prefix of one may be logged either: such text is not cut but replaced.
 */
const PLAIN = /^[A-Za-z0-9_.:-]{1,40}$/;
/** Base64 of `{"`: how every token (and no id the service makes) begins. */
const TOKEN_START = 'eyJ';
/** Longest path a log line quotes; the rest is cut. */
const MAX_LOGGED_PATH = 256;
/** Log lines are written in the background, at least this often. */
const FLUSH_EVERY_MS = 1000;

/**
 * The service's one pino logger and its request log. Every answer to a request, writes refused
 * by admission and requests without Host included, is one JSON line (what Node's parser refuses
 * is answered on the socket before there is a request, and is not logged): request id, URL (as
 * `loggedUrl` cuts and redacts it), method, status and response time. Lines are written to stdout
 * asynchronously so that no request waits for the log: buffered up to 4 KiB and flushed at
 * least once a second; pino flushes what is left when the process exits normally (a SIGKILL
 * can lose the last second of log lines, never an event). On a terminal outside production
 * (`npm run local`) the lines are written at once, readable (log-format.ts).
 *
 * Why not pino-http through nestjs-pino's middleware: measured under `npm run bench`, its
 * per-request child logger, serializers and the AsyncLocalStorage scope nestjs-pino opens
 * around every request cost a third of the service's single-event throughput (docs/PERFORMANCE.md,
 * "Profiles"). nestjs-pino still writes the application's own lines, through this logger; those
 * lines carry no request id (there is no per-request scope to take it from).
 */
export class RequestLog {
  readonly logger: pino.Logger;

  constructor(config: HttpConfig) {
    this.logger = pino({ level: config.logLevel }, destinationFor(config));
  }

  /** Gives the request its id (echoed as X-Request-Id) and logs its answer when it is sent. */
  track(req: IncomingMessage, res: ServerResponse): void {
    const id = requestIdOf(req.headers['x-request-id']);
    res.setHeader('X-Request-Id', id);
    const started = performance.now();
    res.once('close', () => {
      const { statusCode } = res;
      const entry = {
        req: { id, method: req.method, url: loggedUrl(req.url ?? '') },
        res: { statusCode },
        responseTime: Math.round(performance.now() - started),
      };
      if (!res.writableFinished) this.logger.info(entry, 'request aborted');
      // As pino-http wrote them, so that searches and alerts on its lines keep matching.
      else if (statusCode >= 500) {
        const err = { type: 'Error', message: `failed with status code ${statusCode}` };
        this.logger.error({ ...entry, err }, 'request errored');
      } else this.logger.info(entry, 'request completed');
    });
  }
}

/** nestjs-pino's settings: the application's lines through the same logger, no middleware. */
export function nestLogging(log: RequestLog): Params {
  return { pinoHttp: { logger: log.logger }, forRoutes: [] };
}

function destinationFor(config: HttpConfig): pino.DestinationStream {
  if (config.logFormat === 'pretty') {
    return new PrettyLogWriter((text) => process.stdout.write(text));
  }
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => destination.flush(), FLUSH_EVERY_MS).unref();
  return destination;
}

/**
 * The caller's X-Request-Id when it is plain (see PLAIN: up to 40 of letters, digits and `_.:-`,
 * not beginning like a token); otherwise a new UUID, which the answer's X-Request-Id returns.
 */
export function requestIdOf(given: string | string[] | undefined): string {
  return typeof given === 'string' && isPlain(given) ? given : randomUUID();
}

/**
 * The URL as logged: the path, each segment that is not plain (see PLAIN) replaced by
 * `[redacted]`, cut at 256 characters; of the query string only that there was one. A token or
 * secret pasted into the path or the query must not reach the log, and nothing of either is
 * needed to tell requests apart: the request id does that. So `GET /log/event/<token>` is
 * logged as `GET /log/event/[redacted]`, and so is an event id longer than 40 characters.
 */
export function loggedUrl(url: string): string {
  const at = url.indexOf('?');
  const path = (at < 0 ? url : url.slice(0, at))
    .split('/')
    .map((segment) => (segment === '' || isPlain(segment) ? segment : '[redacted]'))
    .join('/');
  const shown = path.length > MAX_LOGGED_PATH ? `${path.slice(0, MAX_LOGGED_PATH)}…` : path;
  return at < 0 ? shown : `${shown}?[redacted]`;
}

function isPlain(text: string): boolean {
  return PLAIN.test(text) && !text.startsWith(TOKEN_START);
}
