import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import pino from 'pino';
import type { HttpConfig } from './http.config';
import { PrettyLogWriter } from './pretty-log.writer';

/** A caller's request id is kept when it is short and plain; otherwise we make one. */
const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Longest path a log line quotes; the rest is cut (a path can carry a 10 KB id). */
const MAX_LOGGED_PATH = 256;
/** Log lines are written in the background, at least this often. */
const FLUSH_EVERY_MS = 1000;

/**
 * nestjs-pino settings: one JSON line per request (id, method, URL, status, latency), written
 * to stdout asynchronously so that no request waits for the log: lines are buffered up to 4 KiB
 * and flushed at least once a second, and pino flushes what is left when the process exits
 * normally (a SIGKILL can lose the last second of log lines, never an event). On a terminal
 * outside production (`npm run local`) the lines are written at once, readable (log-format.ts).
 */
export function requestLogging(config: HttpConfig): Params {
  return { pinoHttp: [pinoHttpOptions(config), destinationFor(config)] };
}

function destinationFor(config: HttpConfig): pino.DestinationStream {
  if (config.logFormat === 'pretty') {
    return new PrettyLogWriter((text) => process.stdout.write(text));
  }
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => destination.flush(), FLUSH_EVERY_MS).unref();
  return destination;
}

function pinoHttpOptions(config: HttpConfig) {
  return {
    level: config.logLevel,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    // Only what identifies the request: no headers (Authorization!), no bodies, no query
    // string values (a token sent as ?token=… must not reach the logs).
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({
        id: req.id,
        method: req.method,
        url: loggedUrl(req.url),
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    redact: ['req.headers.authorization', 'req.headers.cookie'],
    customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) =>
      error || res.statusCode >= 500 ? 'error' : 'info',
  };
}

/**
 * The URL as logged: the path (cut at 256 characters), and of the query string only that there
 * was one. Any of its keys or values could be a credential (`?token=…`, `?<token>`), and none is
 * needed to tell requests apart: the request id does that.
 */
export function loggedUrl(url: string): string {
  const at = url.indexOf('?');
  const path = at < 0 ? url : url.slice(0, at);
  const shown = path.length > MAX_LOGGED_PATH ? `${path.slice(0, MAX_LOGGED_PATH)}…` : path;
  return at < 0 ? shown : `${shown}?[redacted]`;
}
