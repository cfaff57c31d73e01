import { ServerResponse, STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * How long an idle keep-alive connection stays open. Node's default (5 s) is shorter than a
 * client's pause after a 503 under load (Retry-After plus jitter, while its own CPU is busy): the
 * server would close connections that clients are about to reuse (a reset for the request that
 * crosses the close) and every client would come back through the listen queue, where Node
 * accepts one connection per turn of its loop. 65 s outlasts the usual idle timeouts of clients
 * and proxies (60 s), so the client, not the server, closes first.
 */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * The service's clock on every answer, in milliseconds since the epoch, taken as the answer's
 * headers are written: a client estimates its own clock's offset from it (docs/API.md,
 * "Event time").
 */
export const SERVER_TIME_HEADER = 'X-Server-Time-Ms';

/** ServerResponse's writeHead, with the server's clock added as the headers go out. */
function writeHeadWithTime(this: ServerResponse, ...args: unknown[]): ServerResponse {
  this.setHeader(SERVER_TIME_HEADER, String(Date.now()));
  return (ServerResponse.prototype.writeHead as (...a: unknown[]) => ServerResponse).apply(
    this,
    args,
  );
}

/** Every answer of this request, whoever writes it (a route, admission, Node), tells the time. */
function tellTime(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead = writeHeadWithTime;
}

/**
 * The HTTP server's settings, and JSON answers for what Node refuses before any route runs: a
 * malformed request (`clientError`), CONNECT (which Node would close without a word) and an
 * `Expect` other than 100-continue (an empty 417). Each is a bounded JSON body that quotes nothing
 * of the request, with `Connection: close`. `server.maxConnections` stays unlimited on purpose:
 * past it Node destroys new connections (a reset for the client); overload is answered per
 * request instead (WriteAdmission). Every answer carries X-Server-Time-Ms.
 */
export function configureHttpServer(server: Server): void {
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.prependListener('request', tellTime);
  server.on('clientError', answerClientError);
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.end(rawAnswer(405, 'CONNECT is not served here'));
  });
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    answer(res, 417, 'the only Expect this service meets is 100-continue');
  });
}

/**
 * An HTTP/1.1 request must name its Host (RFC 9112 §3.2): without one it is answered 400 here,
 * in JSON (Node's own check, turned off by ServingAdapter, answers with an empty body). Returns
 * whether it answered.
 */
export function refuseWithoutHost(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.headers.host !== undefined || req.httpVersion === '1.0') return false;
  answer(res, 400, 'the request has no Host header (HTTP/1.1 requires one)');
  return true;
}

/** How long a client asked while the service starts should wait before asking again. */
export const STARTING_RETRY_AFTER_SECONDS = 1;
const STARTING_BODY = JSON.stringify({
  statusCode: 503,
  error: STATUS_CODES[503],
  message:
    'the service is starting (it reads its spool and checks InfluxDB first); nothing was ' +
    `stored, retry after ${STARTING_RETRY_AFTER_SECONDS} s`,
  retryAfter: STARTING_RETRY_AFTER_SECONDS,
});

/**
 * PORT's answer from the moment it is bound until start-up is done: 503 with Retry-After, like
 * every answer that means "not now, nothing kept". The body is not read (Node discards it) and
 * the connection stays open for the client's next request.
 */
export function refuseWhileStarting(res: ServerResponse): void {
  res.writeHead(503, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(STARTING_BODY),
    'Retry-After': String(STARTING_RETRY_AFTER_SECONDS),
  });
  res.end(STARTING_BODY);
}

function answer(res: ServerResponse, status: number, message: string): void {
  const body = jsonBody(status, message);
  res.shouldKeepAlive = false;
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    Connection: 'close',
    [SERVER_TIME_HEADER]: String(Date.now()),
  });
  res.end(body);
}

function jsonBody(status: number, message: string): string {
  return JSON.stringify({ statusCode: status, error: STATUS_CODES[status], message });
}

/** A whole HTTP/1.1 answer, for a socket no ServerResponse can write to. */
function rawAnswer(status: number, message: string): string {
  const body = jsonBody(status, message);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `${SERVER_TIME_HEADER}: ${Date.now()}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

/**
 * Node's own refusals (a malformed request, a bad Content-Length: 400; headers over 16 KiB: 431;
 * a request that took too long: 408) would go out with an empty body, or none at all. This
 * answers them as the routes answer theirs: a JSON body with statusCode, error and message, and
 * `Connection: close` (the parser cannot go on after such an error). Nothing of the request is
 * quoted.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  // A request being served (a body that turned out malformed: a bad chunk size) can still be
  // answered as long as nothing of its answer has been written, as Node itself would.
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
  if (!socket.writable || inFlight?.headersSent === true) {
    // Nothing can be written, or an answer is already on its way: just close.
    socket.destroy();
    return;
  }
  const status = clientErrorStatus(error.code);
  socket.end(rawAnswer(status, clientErrorMessage(status)));
}

function clientErrorStatus(code: string | undefined): number {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADERS_TIMEOUT':
      return 408;
    default:
      return 400;
  }
}

function clientErrorMessage(status: number): string {
  switch (status) {
    case 431:
      return 'the request headers are larger than 16 KiB';
    case 408:
      return 'the request took too long to arrive';
    default:
      return 'the request is malformed (request line, headers or Content-Length)';
  }
}
