import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { configureHttpServer } from '../http/http-server';
import { httpConfig, HttpConfig } from '../http/http.config';
import { listen } from '../http/listen';
import { LIVENESS } from './liveness';

/** Built once: an answer on this port does no work it could have done at start-up. */
const PING = JSON.stringify(LIVENESS);
const NOT_FOUND = JSON.stringify({
  statusCode: 404,
  error: STATUS_CODES[404],
  message: 'HEALTH_PORT answers GET /ping only',
});

/**
 * The liveness probe's own listener on HEALTH_PORT (when set). Node accepts one new connection
 * per turn of its event loop: under a spike, thousands of connections wait in PORT's listen
 * queue and a probe's connection on PORT waits behind all of them, however little each turn
 * does. This listener's queue holds only probes, so a probe is accepted on the next turn and
 * answered on the one after. It runs on the same event loop as everything else: a loop that is
 * stuck does not answer here either, which is what liveness is for. `GET` and `HEAD /ping`
 * answer as on PORT; anything else is 404. Closed at shutdown, after PORT.
 */
@Injectable()
export class HealthListener implements OnApplicationShutdown {
  private readonly server = createServer((req, res) => this.answer(req, res));

  constructor(@Inject(httpConfig.KEY) private readonly config: HttpConfig) {
    configureHttpServer(this.server);
  }

  /** Listens on HOST:HEALTH_PORT; nothing when HEALTH_PORT is unset. */
  async listen(): Promise<void> {
    const { healthPort, host } = this.config;
    if (healthPort === undefined) return;
    await listen(this.server, healthPort, host, 'HEALTH_PORT');
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    const found = (req.method === 'GET' || req.method === 'HEAD') && path === '/ping';
    const body = found ? PING : NOT_FOUND;
    res.writeHead(found ? 200 : 404, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
