/**
 * InfluxDB 2 cannot be installed here, so the service's v2 mode is tested through this proxy: it
 * speaks the parts of the 2.x HTTP API the service uses and stores into a real InfluxDB 1.x, much
 * like InfluxDB 1.8's compatibility API.
 *
 *   POST /api/v2/write?org=O&bucket=B&precision=P  ->  POST /write?db=B&precision=P  (B "db/rp": rp too)
 *   GET|POST /query                                ->  forwarded unchanged (1.x-compatible /query)
 *   GET|HEAD /ping                                 ->  forwarded (204)
 *   GET /health                                    ->  {"status":"pass"} while InfluxDB answers
 *
 * Writes and queries need `Authorization: Token <token>`; a write's org must be the configured one.
 * Errors come back in the 2.x shape `{"code": ..., "message": ...}`.
 */
import {
  createServer,
  request,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface V2ProxyOptions {
  /** The InfluxDB 1.x behind the proxy, e.g. `http://127.0.0.1:8086`. */
  influxUrl: string;
  token: string;
  org: string;
}

export interface V2Proxy {
  /** `http://127.0.0.1:<port>`: what the service gets as INFLUX_URL in v2 mode. */
  readonly url: string;
  /** Writes InfluxDB accepted through this proxy so far. */
  readonly writes: number;
  stop(): Promise<void>;
}

/** 2.x error codes by HTTP status (the `code` of an error body). */
const CODES: Record<number, string> = {
  400: 'invalid',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not found',
  405: 'method not allowed',
  413: 'request too large',
  422: 'unprocessable entity',
  429: 'too many requests',
  503: 'unavailable',
};

/** 1.x takes n/u where 2.x says ns/us. */
const PRECISIONS: Record<string, string> = { ns: 'n', us: 'u', ms: 'ms', s: 's' };

interface Upstream {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export async function startV2Proxy(opts: V2ProxyOptions): Promise<V2Proxy> {
  const influx = new URL(opts.influxUrl);
  let writes = 0;

  /** Sends `body` (a buffer, or the client's request streamed through) to InfluxDB 1.x. */
  const forward = (
    method: string,
    pathAndQuery: string,
    headers: Record<string, string>,
    body?: IncomingMessage,
  ): Promise<Upstream> =>
    new Promise((resolve, reject) => {
      const upstream = request(
        new URL(pathAndQuery, influx),
        { method, headers, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 502,
              headers: res.headers,
              body: Buffer.concat(chunks),
            }),
          );
        },
      );
      upstream.on('error', reject);
      if (body === undefined) upstream.end();
      else body.pipe(upstream);
    });

  const authorized = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.headers.authorization === `Token ${opts.token}`) return true;
    sendError(res, 401, 'unauthorized access');
    return false;
  };

  const write = async (req: IncomingMessage, res: ServerResponse, params: URLSearchParams) => {
    if (req.method !== 'POST') return sendError(res, 405, 'method not allowed');
    if (!authorized(req, res)) return;
    const org = params.get('org');
    if (org !== null && org !== opts.org) {
      return sendError(res, 404, `organization name "${org}" not found`);
    }
    const bucket = params.get('bucket');
    if (!bucket) return sendError(res, 400, 'bucket is required');
    const precision = params.get('precision') ?? 'ns';
    const mapped = PRECISIONS[precision];
    if (mapped === undefined) return sendError(res, 400, `invalid precision "${precision}"`);

    const slash = bucket.indexOf('/');
    const target = new URLSearchParams({
      db: slash < 0 ? bucket : bucket.slice(0, slash),
      precision: mapped,
    });
    if (slash >= 0 && slash < bucket.length - 1) target.set('rp', bucket.slice(slash + 1));
    const headers = pick(req.headers, ['content-type', 'content-encoding', 'content-length']);
    const upstream = await forward('POST', `/write?${target.toString()}`, headers, req);
    if (upstream.status >= 200 && upstream.status < 300) {
      writes += 1;
      res.writeHead(204).end();
      return;
    }
    const message = errorMessage(upstream.body);
    // 1.x: 404 for an unknown database, 500 (!) for an unknown retention policy; 2.x: 404 bucket.
    if (/^(database not found|retention policy not found):/.test(message)) {
      return sendError(res, 404, `bucket "${bucket}" not found`);
    }
    sendError(res, upstream.status, message);
  };

  const query = async (req: IncomingMessage, res: ServerResponse, pathAndQuery: string) => {
    if (req.method !== 'GET' && req.method !== 'POST')
      return sendError(res, 405, 'method not allowed');
    if (!authorized(req, res)) return;
    const headers = pick(req.headers, ['content-type', 'content-length', 'accept']);
    const upstream = await forward(req.method, pathAndQuery, headers, req);
    relay(res, upstream);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const path = url.pathname.replace(/(.)\/$/, '$1');
    if (path === '/api/v2/write') return write(req, res, url.searchParams);
    if (path === '/query') return query(req, res, `${path}${url.search}`);
    if (path === '/ping' && (req.method === 'GET' || req.method === 'HEAD')) {
      return relay(res, await forward(req.method, '/ping', {}));
    }
    if (path === '/health' && req.method === 'GET') {
      const ping = await forward('GET', '/ping', {}).catch(() => undefined);
      const pass = ping !== undefined && ping.status === 204;
      return sendJson(res, pass ? 200 : 503, {
        name: 'influxdb',
        message: pass ? 'ready for queries and writes' : 'InfluxDB 1.x behind the proxy is down',
        status: pass ? 'pass' : 'fail',
        checks: [],
      });
    }
    sendError(res, 404, 'path not found');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      // InfluxDB itself is unreachable (a fault test stopped it): answer like a server that is down.
      if (!res.headersSent) sendError(res, 503, `InfluxDB unavailable: ${error.message}`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    get writes() {
      return writes;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function pick(headers: IncomingHttpHeaders, names: string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = headers[name];
    if (typeof value === 'string') picked[name] = value;
  }
  return picked;
}

/** The `error` of a 1.x error body, else the body as text. */
function errorMessage(body: Buffer): string {
  const text = body.toString('utf8');
  try {
    const json = JSON.parse(text) as { error?: unknown };
    if (typeof json.error === 'string') return json.error;
  } catch {
    // not JSON: use the text
  }
  return text.trim();
}

function relay(res: ServerResponse, upstream: Upstream): void {
  res.writeHead(upstream.status, pick(upstream.headers, ['content-type'])).end(upstream.body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, status: number, message: string): void {
  const code = CODES[status] ?? (status >= 500 ? 'internal error' : 'invalid');
  sendJson(res, status, { code, message });
}
