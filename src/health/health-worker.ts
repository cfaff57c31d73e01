/**
 * The liveness listener's thread (HealthListener starts it): answers GET/HEAD /ping on
 * HEALTH_PORT without waiting for a turn of the main event loop, and 503 once the main loop's
 * heartbeat is older than `stallMs`. Posts `{ listening: true }` or `{ code }` once it has tried
 * to listen.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { configureHttpServer } from '../http/http-server';

export interface HealthWorkerData {
  port: number;
  host: string;
  /** The liveness body (LIVENESS as JSON). */
  body: string;
  /** Date.now() of the main loop's last heartbeat, in a BigInt64Array of one. */
  heartbeat: SharedArrayBuffer;
  stallMs: number;
  backlog: number;
}

const data = workerData as HealthWorkerData;
const heartbeat = new BigInt64Array(data.heartbeat);
const json = (status: number, message: string) =>
  JSON.stringify({ statusCode: status, error: STATUS_CODES[status], message });
const NOT_FOUND = json(404, 'HEALTH_PORT answers GET /ping (and /ping/) only');
const STALLED = json(503, `the event loop has not turned for more than ${data.stallMs / 1000} s`);

function answer(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '').split('?')[0];
  // With and without the trailing slash, as every route of the service answers.
  const ping =
    (req.method === 'GET' || req.method === 'HEAD') && (path === '/ping' || path === '/ping/');
  const alive = Date.now() - Number(Atomics.load(heartbeat, 0)) <= data.stallMs;
  const [status, body] = !ping ? [404, NOT_FOUND] : alive ? [200, data.body] : [503, STALLED];
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

const server = createServer(answer);
configureHttpServer(server);
server.once('error', (error: NodeJS.ErrnoException) =>
  parentPort?.postMessage({ code: error.code ?? error.message }),
);
server.listen({ port: data.port, host: data.host, backlog: data.backlog }, () =>
  parentPort?.postMessage({ listening: true }),
);
