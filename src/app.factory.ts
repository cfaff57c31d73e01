import { ShutdownSignal } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { configureHttpServer } from './http/http-server';
import { LoadShedder } from './http/load-shedder';
import { malformedPath } from './http/malformed-path';
import { setupOpenApi } from './openapi/openapi-document';

/** The signals that shut the service down: not SIGHUP, on which it re-reads access.json. */
const SHUTDOWN_SIGNALS = Object.values(ShutdownSignal).filter(
  (signal) => signal !== ShutdownSignal.SIGHUP,
);

/**
 * The application as main.ts serves it and the e2e tests drive it. Nest's own body parser is
 * off (JsonBodyGuard reads bodies, with MAX_BODY_BYTES, after the TokenGuard). Start-up
 * logs are held back, so a start-up failure is reported once by the caller and not also as
 * Nest's stack trace.
 */
export async function createApp(): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    bodyParser: false,
    bufferLogs: true,
    autoFlushLogs: false,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  app.flushLogs();
  app.use(malformedPath);
  configureHttpServer(app.getHttpServer());
  // In front of Express: a write refused under overload costs no routing, logging or auth.
  app.get(LoadShedder).attach(app.getHttpServer());
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
