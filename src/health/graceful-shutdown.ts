import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnModuleDestroy,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { HealthIndicatorService } from '@nestjs/terminus';
import { httpConfig, HttpConfig } from '../http/http.config';

/**
 * SIGTERM, in order: readiness fails at once (this hook runs first); Nest stops the HTTP
 * server, which finishes the requests it has (each is stored or spooled within
 * WRITE_DEADLINE_MS); the InfluxDB writer and the spool drainer finish in their own shutdown
 * hooks. Should any of that hang, the process exits anyway after SHUTDOWN_TIMEOUT_MS: every
 * event acknowledged so far is in InfluxDB or on disk.
 */
@Injectable()
export class GracefulShutdown implements OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(GracefulShutdown.name);
  private stopping = false;

  constructor(
    @Inject(httpConfig.KEY) private readonly config: HttpConfig,
    private readonly health: HealthIndicatorService,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleDestroy(): void {
    this.stopping = true;
    // Node's server.close() (Nest calls it next) stops accepting and closes idle keep-alive
    // connections, but a client that keeps its connection busy would keep it open until the
    // deadline: from now on every answer closes its connection.
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    server?.on('request', (_req: IncomingMessage, res: ServerResponse) => {
      res.setHeader('Connection', 'close');
    });
    // A request already being served missed the listener above: once answered, its connection
    // would stay open for the keep-alive timeout (65 s), holding up the shutdown, and the next
    // request on it would be taken by a service that is shutting down. Node arms the idle
    // timeout of a connection when its answer is finished, from this value (plus a second of
    // its own): such a connection closes about a second after its answer, and a request that
    // comes on it within that second is answered with `Connection: close` like any other.
    if (server) server.keepAliveTimeout = 1;
    server?.closeIdleConnections();
  }

  /**
   * The deadline is armed for a signal only (an app closed by its caller, as in tests, is left
   * alone); the timer does not keep the process alive, and nothing clears it: the process is
   * meant to end.
   */
  beforeApplicationShutdown(signal?: string): void {
    if (!signal) return;
    setTimeout(() => {
      this.logger.error(
        `shutdown took longer than ${this.config.shutdownTimeoutMs} ms (SHUTDOWN_TIMEOUT_MS); exiting`,
      );
      process.exit(1);
    }, this.config.shutdownTimeoutMs).unref();
  }

  isHealthy(key: string) {
    const indicator = this.health.check(key);
    return this.stopping ? indicator.down({ message: 'shutting down' }) : indicator.up();
  }
}
