import { ShutdownSignal } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { HealthListener } from './health/health-listener';
import { httpConfig, type HttpConfig } from './http/http.config';
import { listen } from './http/listen';
import { malformedPath } from './http/malformed-path';
import { RequestLog } from './http/request-logging';
import { ServingAdapter } from './http/serving-adapter';
import { WriteAdmission } from './http/write-admission';
import { setupOpenApi } from './api-docs/openapi-document';

/** The signals that shut the service down: not SIGHUP, on which it re-reads access.json. */
const SHUTDOWN_SIGNALS = Object.values(ShutdownSignal).filter(
  (signal) => signal !== ShutdownSignal.SIGHUP,
);

/**
 * The application as main.ts serves it and the e2e tests drive it (both then call `serve`). Its
 * Node server and what stands in front of Express are ServingAdapter's (the request chain, in
 * order, is there). Nest's own body parser is off (JsonBodyGuard reads bodies, with
 * MAX_BODY_BYTES, after the TokenGuard). Start-up logs are held back until `serve` has bound the
 * ports, so a start-up failure is reported once by the caller and not also as Nest's stack trace.
 */
export async function createApp(): Promise<NestExpressApplication> {
  const adapter = new ServingAdapter();
  const app = await NestFactory.create<NestExpressApplication>(AppModule, adapter, {
    bodyParser: false,
    bufferLogs: true,
    autoFlushLogs: false,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  adapter.useParts(app.get(RequestLog), app.get(WriteAdmission));
  app.use(malformedPath);
  app.disable('x-powered-by');
  // Express would hash every answer for an ETag; no client revalidates these answers.
  app.set('etag', false);
  // Exit 0 after a clean shutdown instead of re-raising the signal (Kubernetes reads 143 as a
  // failure in its events). Every signal Nest knows but SIGHUP, which re-reads access.json
  // (AccessService).
  app.enableShutdownHooks(SHUTDOWN_SIGNALS, { useProcessExit: true });
  // Before init: its routes must come before Nest's JSON 404 for unknown routes.
  setupOpenApi(app);
  return app;
}

/**
 * Starts serving: binds HEALTH_PORT when set, then HOST:PORT (each bound once), then runs the
 * application's start-up hooks (the spool's recovery among them), then lets requests through.
 * The ports come first so that a taken or foreign address stops start-up with its one line
 * (main.ts) before anything is logged or replayed; from then until the hooks are done, PORT
 * answers 503 with Retry-After (ServingAdapter) and HEALTH_PORT answers for a live process.
 * Resolves to the port PORT was bound to (PORT=0 picks a free one).
 */
export async function serve(app: NestExpressApplication): Promise<number> {
  const { port, host } = app.get<HttpConfig>(httpConfig.KEY);
  const server = app.getHttpServer();
  // HEALTH_PORT first: once PORT answers, so does HEALTH_PORT.
  await app.get(HealthListener).listen();
  await listen(server, port, host);
  app.flushLogs();
  await app.init();
  (app.getHttpAdapter() as unknown as ServingAdapter).startServing();
  return (server.address() as AddressInfo).port;
}
