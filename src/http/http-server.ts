import { STATUS_CODES, type Server } from 'node:http';
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
 * The HTTP server's settings, and JSON answers for what Node refuses before any route runs.
 * `server.maxConnections` stays unlimited on purpose: past it Node destroys new connections (a
 * reset for the client); overload is answered per request instead (LoadShedder).
 */
export function configureHttpServer(server: Server): void {
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.on('clientError', answerClientError);
}

/**
 * Node's own refusals (a malformed request, a bad Content-Length: 400; headers over 16 KiB: 431;
 * a request that took too long: 408) would go out with an empty body, or none at all. This
 * answers them as the routes answer theirs: a JSON body with statusCode, error and message, and
 * `Connection: close` (the parser cannot go on after such an error). Nothing of the request is
 * quoted.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable || (socket as Duplex & { _httpMessage?: unknown })._httpMessage) {
    // Nothing can be written, or an answer is already on its way: just close.
    socket.destroy();
    return;
  }
  const status = clientErrorStatus(error.code);
  const body = JSON.stringify({
    statusCode: status,
    error: STATUS_CODES[status],
    message: clientErrorMessage(status),
  });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
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
