import {
  Inject,
  Injectable,
  Logger,
  OnApplicationShutdown,
  OnApplicationBootstrap,
  Optional,
} from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MetricsService } from '../metrics/metrics.service';
import { EventLoopLag } from './event-loop-lag';
import { httpConfig, HttpConfig } from './http.config';

/** Writes: POST to /log/event, /log/events (any case, as Express routes them, and with a slash). */
const WRITE = /^\/log\//i;
/** At most one log line per this long while shedding. */
const REPORT_EVERY_MS = 10_000;
/**
 * How long a shed client should wait. Saturation passes soon after the load eases, but every
 * refused client comes back after this long: at 1 s, 2,000 refused clients keep a loaded
 * service as busy refusing them as they found it; at 5 s they offer a fifth of that, and the
 * events they hold are late by seconds, which analytics can afford.
 */
export const SHED_RETRY_AFTER_SECONDS = 5;

export type ShedReason = 'event_loop_delay' | 'event_loop_utilization' | 'in_flight';

/**
 * Overload is shed, not queued. While the service is saturated (its event loop runs more than
 * SHED_EVENT_LOOP_DELAY_MS behind, or SHED_MAX_IN_FLIGHT writes are being served), a new write
 * is answered 503 with `Retry-After` at once, before its body is read, its token checked or
 * anything logged: a refusal costs a few microseconds, so a spike cannot take the CPU that
 * `/ping`, `/ready`, `/metrics` and the writes already admitted need. Only writes are shed:
 * reads and probes are never refused here.
 *
 * Registered by createApp as the first Express middleware, ahead of Nest's middleware (request
 * log, metrics) and guards.
 */
@Injectable()
export class LoadShedder implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LoadShedder.name);
  private readonly lag: EventLoopLag;
  private inFlight = 0;
  private shedSinceReport = 0;
  private reportedAt = -Infinity;
  private readonly bodies: Record<ShedReason, string>;

  constructor(
    @Inject(httpConfig.KEY) private readonly config: HttpConfig,
    private readonly metrics: MetricsService,
    @Optional() lag?: EventLoopLag,
  ) {
    this.lag = lag ?? new EventLoopLag();
    // Built once: a refusal does no work it could have done at start-up.
    const body = (message: string) =>
      JSON.stringify({
        statusCode: 503,
        error: 'Service Unavailable',
        message: `${message}; retry after ${SHED_RETRY_AFTER_SECONDS} s`,
        retryAfter: SHED_RETRY_AFTER_SECONDS,
      });
    this.bodies = {
      event_loop_delay: body(
        `overloaded: the event loop is more than ${config.shedEventLoopDelayMs} ms behind (SHED_EVENT_LOOP_DELAY_MS)`,
      ),
      event_loop_utilization: body(
        `overloaded: the event loop was more than ${config.shedEventLoopUtilization}% busy (SHED_EVENT_LOOP_UTILIZATION)`,
      ),
      in_flight: body(
        `overloaded: ${config.shedMaxInFlight} writes are in progress (SHED_MAX_IN_FLIGHT)`,
      ),
    };
  }

  /** Once the application has started: its start-up work is no load to shed for. */
  onApplicationBootstrap(): void {
    if (this.config.shedEventLoopDelayMs > 0 || this.config.shedEventLoopUtilization > 0) {
      this.lag.start();
    }
  }

  onApplicationShutdown(): void {
    this.lag.stop();
  }

  /** Why a new write would be refused now, or undefined when it is admitted. */
  saturation(): ShedReason | undefined {
    const { shedMaxInFlight, shedEventLoopDelayMs, shedEventLoopUtilization } = this.config;
    if (shedMaxInFlight > 0 && this.inFlight >= shedMaxInFlight) return 'in_flight';
    if (shedEventLoopDelayMs > 0 && this.lag.ms > shedEventLoopDelayMs) return 'event_loop_delay';
    if (shedEventLoopUtilization > 0 && this.lag.utilization * 100 > shedEventLoopUtilization) {
      return 'event_loop_utilization';
    }
    return undefined;
  }

  /** Writes being served now. */
  get writesInFlight(): number {
    return this.inFlight;
  }

  /** The Express middleware. */
  readonly middleware = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    if (req.method !== 'POST' || !WRITE.test(req.url ?? '')) return next();
    const reason = this.saturation();
    if (reason !== undefined) {
      this.metrics.httpShed.inc({ reason });
      this.report(reason);
      const body = this.bodies[reason];
      // Kept open: a closed connection would come back through the listen queue, where Node
      // accepts one connection per turn of its loop and a probe's connection waits behind all.
      // Node reads and discards the unread body.
      res.writeHead(503, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
        'Retry-After': String(SHED_RETRY_AFTER_SECONDS),
      });
      res.end(body);
      return;
    }
    this.inFlight++;
    res.once('close', () => this.inFlight--);
    next();
  };

  /** A warning when shedding starts, then at most one per REPORT_EVERY_MS, not one per refusal. */
  private report(reason: ShedReason): void {
    this.shedSinceReport++;
    const now = performance.now();
    if (now - this.reportedAt < REPORT_EVERY_MS) return;
    this.logger.warn(
      `overloaded (${reason}): ${this.shedSinceReport} write(s) answered 503 since the last report`,
    );
    this.reportedAt = now;
    this.shedSinceReport = 0;
  }
}
