import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** 1 ms to 10 s: an acknowledged event waits for InfluxDB, whose timeout defaults to 10 s. */
const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Lines per InfluxDB write: one lone event up to a few full group commits (WRITE_BATCH_LINES). */
const LINES_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

/**
 * The service's Prometheus instruments, in a registry of its own rather than prom-client's
 * global one, so that several applications can run in one process (the e2e tests do).
 * Labels take values from small fixed sets only: a route pattern, never a URL or an id.
 */
@Injectable()
export class MetricsService {
  private readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'stats_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'stats_http_request_duration_seconds',
    help: 'Time from receiving an HTTP request to sending the last byte of its answer',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });

  /**
   * Per user: labelled with the username of a verified token (never a token), so that the
   * series grow with the access file, not with the traffic; past MAX_USER_LABELS users the
   * rest share one label (HttpMetricsMiddleware).
   */
  readonly userRequests = new Counter({
    name: 'stats_user_requests_total',
    help: "Requests with a verified token, by user (username), method and status: each user's writes, reads and refusals (403 scope, 429 rate limit, 400, 503, ...)",
    labelNames: ['user', 'method', 'status'] as const,
    registers: [this.registry],
  });

  readonly accessReloads = new Counter({
    name: 'stats_access_reloads_total',
    help: 'Re-reads of the access file while running (on a change and on SIGHUP), by outcome: loaded, or failed (the previous tokens stay in force)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly httpShed = new Counter({
    name: 'stats_http_shed_total',
    help: 'Writes answered 503 unread because they waited ADMISSION_TIMEOUT_MS for a turn, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly admissionWait = new Histogram({
    name: 'stats_http_admission_wait_seconds',
    help: 'How long each admitted write waited for its turn (0 when it had one at once)',
    buckets: [0, ...SECONDS_BUCKETS],
    registers: [this.registry],
  });

  private admission: () => { waiting: number; active: number } = () => ({ waiting: 0, active: 0 });

  readonly admissionWaiting: Gauge = new Gauge({
    name: 'stats_http_admission_waiting',
    help: 'Writes waiting for a turn, bodies unread',
    registers: [this.registry],
    collect: (): void => this.admissionWaiting.set(this.admission().waiting),
  });

  readonly admissionActive: Gauge = new Gauge({
    name: 'stats_http_admission_active',
    help: 'Writes having their turn (body being read and parsed)',
    registers: [this.registry],
    collect: (): void => this.admissionActive.set(this.admission().active),
  });

  readonly events = new Counter({
    name: 'stats_events_total',
    help: 'Events received, by outcome (stored, spooled, refused) and the reason of a refusal',
    labelNames: ['outcome', 'reason'] as const,
    registers: [this.registry],
  });

  readonly influxWriteDuration = new Histogram({
    name: 'stats_influx_write_duration_seconds',
    help: 'Duration of each write to InfluxDB',
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });

  readonly influxBatchLines = new Histogram({
    name: 'stats_influx_write_lines',
    help: 'Lines of line protocol in each write to InfluxDB',
    buckets: LINES_BUCKETS,
    registers: [this.registry],
  });

  readonly influxWriteFailures = new Counter({
    name: 'stats_influx_write_failures_total',
    help: 'Writes to InfluxDB that failed, by kind (unavailable, refused, credentials)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly influxCredentialsRefused = new Counter({
    name: 'stats_influx_credentials_refused_total',
    help: 'Answers of InfluxDB (to writes and queries) refusing the service credentials (401, 403)',
    registers: [this.registry],
  });

  readonly spoolBytes = new Gauge({
    name: 'stats_spool_bytes',
    help: 'Bytes held in the spool, waiting for InfluxDB',
    registers: [this.registry],
  });

  readonly spoolRecords = new Gauge({
    name: 'stats_spool_records',
    help: 'Records held in the spool, waiting for InfluxDB',
    registers: [this.registry],
  });

  readonly spoolOldestAgeSeconds = new Gauge({
    name: 'stats_spool_oldest_record_age_seconds',
    help: 'Age of the oldest record in the spool (0 when it is empty)',
    registers: [this.registry],
  });

  readonly spoolDrained = new Counter({
    name: 'stats_spool_drained_lines_total',
    help: 'Lines written from the spool to InfluxDB',
    registers: [this.registry],
  });

  readonly spoolDeadLettered = new Counter({
    name: 'stats_spool_dead_lettered_lines_total',
    help: 'Lines the spool gave up on (dead-lettered)',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Where the admission gauges read their values (WriteAdmission). */
  watchAdmission(read: () => { waiting: number; active: number }): void {
    this.admission = read;
  }

  /** The exposition for GET /metrics. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
