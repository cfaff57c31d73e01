import {
  Inject,
  Injectable,
  Logger,
  OnApplicationShutdown,
  OnApplicationBootstrap,
  Optional,
} from '@nestjs/common';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { MetricsService } from '../metrics/metrics.service';
import { EventLoopLag } from './event-loop-lag';
import { httpConfig, HttpConfig } from './http.config';

/** Writes: POST to /log/event, /log/events (any case, as Express routes them, and with a slash). */
const WRITE = /^\/log\//i;
/**
 * Refusals written per turn of the event loop. The first burst of a spike brings a thousand and
 * more requests in one turn; answered where they are read, their writes (a send each, the
 * costliest part of a refusal) would make that turn last as long as all of them, and a /ping read
 * in it would wait for all of them. Queued and written this many at a time, one batch per turn,
 * they leave the loop free to accept and answer probes between batches.
 */
const REFUSALS_PER_TURN = 64;
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
 * is refused 503 with `Retry-After` before its body is read, its token checked or anything
 * logged, so a spike cannot take the CPU that `/ping`, `/ready`, `/metrics` and the writes
 * already admitted need. Only writes are shed: reads and probes are never refused here.
 *
 * Attached by createApp to the Node server itself (`attach`), ahead of Express: a refused write
 * never reaches Express's router, Nest's middleware (request log, metrics) or guards. Refusals
 * are written REFUSALS_PER_TURN per turn of the event loop, in the turns that follow the one
 * that read them (see there): under a spike's first burst, a probe is answered in the turn its
 * request is read, not after a thousand refusals.
 */
@Injectable()
export class LoadShedder implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LoadShedder.name);
  private readonly lag: EventLoopLag;
  private inFlight = 0;
  private shedSinceReport = 0;
  private reportedAt = -Infinity;
  private readonly bodies: Record<ShedReason, string>;
  /** Refusals not yet written, oldest first. */
  private readonly refusals: Array<{ res: ServerResponse; body: string }> = [];

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

  /**
   * Puts the shedder in front of `server`'s request listeners (Express's, for Nest's adapter):
   * they see only the requests it admits.
   */
  attach(server: Server): void {
    const listeners = server.listeners('request') as Array<
      (req: IncomingMessage, res: ServerResponse) => void
    >;
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) =>
      this.admit(req, res, () => {
        for (const listener of listeners) listener.call(server, req, res);
      }),
    );
  }

  /** Calls `next` for a request it admits; refuses a write while saturated. */
  readonly admit = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    if (req.method !== 'POST' || !WRITE.test(req.url ?? '')) return next();
    const reason = this.saturation();
    if (reason !== undefined) {
      this.metrics.httpShed.inc({ reason });
      this.report(reason);
      this.refusals.push({ res, body: this.bodies[reason] });
      if (this.refusals.length === 1) setImmediate(this.writeRefusals);
      return;
    }
    this.inFlight++;
    res.once('close', () => this.inFlight--);
    next();
  };

  /** Writes up to REFUSALS_PER_TURN queued refusals, and the rest in later turns. */
  private readonly writeRefusals = (): void => {
    for (const { res, body } of this.refusals.splice(0, REFUSALS_PER_TURN)) {
      // The client may have gone while its refusal waited.
      if (res.destroyed) continue;
      // Kept open: a closed connection would come back through the listen queue, behind every
      // other new connection. Node reads and discards the unread body.
      res.writeHead(503, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
        'Retry-After': String(SHED_RETRY_AFTER_SECONDS),
      });
      res.end(body);
    }
    // An immediate queued from an immediate runs in the next turn, after its poll for I/O.
    if (this.refusals.length > 0) setImmediate(this.writeRefusals);
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
