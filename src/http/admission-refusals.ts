import { Logger } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { MetricsService } from '../metrics/metrics.service';

/**
 * How long a refused client should wait. Every refused client comes back after this long: at
 * 1 s, 2,000 refused clients keep a loaded service as busy refusing them as they found it; at
 * 5 s they offer a fifth of that, and the events they hold are late by seconds, which analytics
 * can afford.
 */
export const RETRY_AFTER_SECONDS = 5;
/** Refusals written per turn of the event loop, so that a turn that refuses many stays short. */
const REFUSALS_PER_TURN = 64;
/** At most one log line per this long while writes are refused. */
const REPORT_EVERY_MS = 10_000;

/**
 * The 503s of WriteAdmission: written at most REFUSALS_PER_TURN per turn of the loop, counted
 * in stats_http_shed_total, and logged at the first refusal and then at most once per
 * REPORT_EVERY_MS, so that the counts of the log lines add up to the counter.
 */
export class AdmissionRefusals {
  private readonly logger = new Logger('WriteAdmission');
  private readonly body: string;
  /** Refusals not yet written, oldest first. */
  private readonly pending: ServerResponse[] = [];
  private total = 0;
  private sinceReport = 0;
  private reportTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly metrics: MetricsService,
    private readonly timeoutMs: number,
    /** Writes waiting now, for the log line. */
    private readonly waiting: () => number,
  ) {
    // Built once: a refusal does no work it could have done at start-up.
    this.body = JSON.stringify({
      statusCode: 503,
      error: 'Service Unavailable',
      message:
        `overloaded: this write waited ${timeoutMs} ms for its turn (ADMISSION_TIMEOUT_MS) ` +
        `and was not read; nothing was stored, retry after ${RETRY_AFTER_SECONDS} s`,
      retryAfter: RETRY_AFTER_SECONDS,
    });
  }

  /** Refuses these writes (the ones whose client is still there). */
  refuse(responses: ServerResponse[]): void {
    const live = responses.filter((res) => !res.destroyed);
    if (live.length === 0) return;
    if (this.pending.length === 0) setImmediate(this.write);
    // A loop, not push(...live): spread arguments overflow the stack past ~120,000.
    for (const res of live) this.pending.push(res);
    this.metrics.httpShed.inc({ reason: 'admission_timeout' }, live.length);
    this.total += live.length;
    this.sinceReport += live.length;
    // The first refusal after a quiet spell is reported at once, what follows once per
    // REPORT_EVERY_MS.
    if (this.reportTimer === undefined) this.reportNow();
  }

  /** At shutdown: what is not reported yet. */
  close(): void {
    clearTimeout(this.reportTimer);
    this.report();
  }

  private readonly write = (): void => {
    for (const res of this.pending.splice(0, REFUSALS_PER_TURN)) {
      if (res.destroyed) continue;
      // Kept open: a closed connection would come back through the listen queue. Node reads
      // and discards the unread body.
      res.writeHead(503, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(this.body),
        'Retry-After': String(RETRY_AFTER_SECONDS),
      });
      res.end(this.body);
    }
    if (this.pending.length > 0) setImmediate(this.write);
  };

  private reportNow(): void {
    if (!this.report()) return;
    this.reportTimer = setTimeout(() => this.reportNow(), REPORT_EVERY_MS);
    this.reportTimer.unref();
  }

  /** One log line for the refusals since the last one, if any (false if none). */
  private report(): boolean {
    this.reportTimer = undefined;
    if (this.sinceReport === 0) return false;
    this.logger.warn(
      `overloaded: ${this.sinceReport} write(s) answered 503 after waiting ${this.timeoutMs} ms ` +
        `for a turn (ADMISSION_TIMEOUT_MS); ${this.total} since start; ${this.waiting()} waiting now`,
    );
    this.sinceReport = 0;
    return true;
  }
}
