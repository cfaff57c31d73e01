import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Express } from 'express';
import { configureHttpServer, refuseWhileStarting, refuseWithoutHost } from './http-server';
import type { RequestLog } from './request-logging';
import type { WriteAdmission } from './write-admission';

/**
 * Nest's Express adapter with the service's own Node server, so that the request chain reads in
 * one place, in order:
 *
 *   Node's HTTP parser (malformed requests: http-server.ts)
 *   → the request log (RequestLog: an id, and one line when the answer is sent)
 *   → 503 until start-up is done (refuseWhileStarting)
 *   → a missing Host refused (refuseWithoutHost)
 *   → WriteAdmission (writes wait for a turn, bodies unread)
 *   → Express: malformedPath, metrics, Nest's router
 *   → TokenGuard, JsonBodyGuard, the controller
 *
 * createApp builds it and hands it the RequestLog and the WriteAdmission once Nest has made them
 * (`useParts`). `serve` binds PORT before the application's start-up hooks run, so that a taken
 * port stops start-up before anything is replayed; requests reach Express only once serve has
 * called `startServing`, after those hooks (until then Nest's routes are not registered).
 */
export class ServingAdapter extends ExpressAdapter {
  private admission?: WriteAdmission;
  private log?: RequestLog;
  private serving = false;

  override initHttpServer(): void {
    const express = this.getInstance<Express>();
    const serve = (req: IncomingMessage, res: ServerResponse): void => {
      express(req, res);
    };
    // Node answers a missing Host with an empty 400; refuseWithoutHost answers it in JSON.
    const server = createServer({ requireHostHeader: false }, (req, res) => {
      this.log?.track(req, res);
      if (!this.serving) return refuseWhileStarting(res);
      if (refuseWithoutHost(req, res)) return;
      if (this.admission) this.admission.admit(req, res, serve);
      else serve(req, res);
    });
    configureHttpServer(server);
    this.setHttpServer(server);
  }

  useParts(log: RequestLog, admission: WriteAdmission): void {
    this.log = log;
    this.admission = admission;
  }

  /** Start-up is done: requests go on past refuseWhileStarting from now on. */
  startServing(): void {
    this.serving = true;
  }
}
