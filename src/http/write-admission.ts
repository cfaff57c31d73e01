import {
  Inject,
  Injectable,
  Logger,
  OnApplicationShutdown,
  OnModuleInit,
  Optional,
} from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MetricsService } from '../metrics/metrics.service';
import { httpConfig, HttpConfig } from './http.config';
import { AdmissionRefusals } from './admission-refusals';
import { WaitingLine } from './waiting-line';

/** Writes: POST to /log/event, /log/events (any case, as Express routes them, and with a slash). */
const WRITE = /^\/log\//i;
/** How often the line is looked at while writes wait or are served (deadlines, stalls, rate). */
const WATCH_EVERY_MS = 50;
/**
 * A watch that fires this much later than it was due means the process did not run (SIGSTOP, a
 * debugger, a VM that lost its CPU, a very long garbage collection): that time is not counted as
 * waiting. The loop's own turns stay far shorter, since at most ADMISSION_CONCURRENCY writes are
 * served at once.
 */
const STALL_MS = 500;
/**
 * A write whose body is read but which has not been answered after this long (InfluxDB slow or
 * away: the store answers once it has spooled it, within WRITE_DEADLINE_MS) gives its place to
 * the next one: waiting for InfluxDB costs the service no CPU, and an outage must not make the
 * writes behind it wait here.
 */
const SERVED_AT_MOST_MS = 200;

export interface Clock {
  /** Milliseconds from a monotonic origin. */
  now(): number;
}
const MONOTONIC: Clock = { now: () => performance.now() };

/** Marks an admitted write's request and response, so that both lead to its place. */
const SERVED = Symbol('admitted write');

interface Served {
  owner: WriteAdmission;
  ended: boolean;
  /** When its body was read (on the clock), undefined until then. */
  readAt: number | undefined;
}

type Marked<T> = T & { [SERVED]?: Served };

/** A served write's response closed: its place is free. One function for every response. */
function closed(this: ServerResponse): void {
  const served = (this as Marked<ServerResponse>)[SERVED];
  served?.owner.release(served);
}

/** Serves a request admitted (Express, for the ServingAdapter): the same function for all. */
export type Serve = (req: IncomingMessage, res: ServerResponse) => void;

interface Waiting {
  req: IncomingMessage;
  res: ServerResponse;
  serve: Serve;
  /** When it joined the line, on the clock, with any stall since taken off. */
  since: number;
}

/**
 * The body reader calls this once the body of `req` is read and parsed (or refused): from then
 * on the write holds its place for at most SERVED_AT_MOST_MS more.
 */
export function bodyRead(req: IncomingMessage, now = performance.now()): void {
  const served = (req as Marked<IncomingMessage>)[SERVED];
  if (served && served.readAt === undefined) served.readAt = now;
}

/**
 * Overload means waiting too long, not being busy. A busy event loop is the normal state of a
 * loaded service; what a caller suffers is the time its write waits. So:
 *
 * - At most ADMISSION_CONCURRENCY writes are served at once, from admission until their answer.
 *   That bounds the work of every turn of the event loop: a turn answers at most that many
 *   writes and reads at most that many bodies, so turns stay short under any load, and short
 *   turns are what let Node accept new connections (it accepts one per turn) and answer probes.
 *   A served write whose body is read gives its place up after SERVED_AT_MOST_MS even if it is
 *   not answered yet (InfluxDB slow or away).
 * - The others wait in a line, bodies unread, sockets open.
 * - A write that has waited ADMISSION_TIMEOUT_MS is answered 503 with `Retry-After`; nothing
 *   else is refused. The refusal comes when the deadline passes, never at once: a client that
 *   ignores Retry-After cannot come back sooner than once per deadline, so refusing cannot
 *   become the service's main work.
 * - The line is served first in, first out while that gets a newcomer served within 80 % of the
 *   deadline (its length over the recent service rate); beyond that, newest first (adaptive
 *   LIFO, as Facebook's queues do) until the forecast is back under half the deadline. In arrival
 *   order every write of such a line would miss its deadline; newest first, those that can make
 *   it are served, and the oldest, which would miss it anyway, are refused.
 * - Time the process did not run does not count as waiting: after a freeze, the writes that
 *   waited through it are served, not refused.
 *
 * Reads, probes and /metrics never wait here. ADMISSION_CONCURRENCY=0 turns admission off.
 */
@Injectable()
export class WriteAdmission implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(WriteAdmission.name);
  private readonly line = new WaitingLine<Waiting>();
  /** Writes being served (at most ADMISSION_CONCURRENCY). */
  private readonly serving = new Set<Served>();
  private readonly refusals: AdmissionRefusals;
  private active = 0;
  private newestFirst = false;
  private pumpDue = false;
  private watch: NodeJS.Timeout | undefined;
  private watchDueAt = 0;
  /** Writes admitted since the last watch, and the service rate (per ms) they make. */
  private admittedSinceWatch = 0;
  private lastWatchAt = 0;
  private ratePerMs = 0;

  constructor(
    @Inject(httpConfig.KEY) private readonly config: HttpConfig,
    private readonly metrics: MetricsService,
    @Optional() private readonly clock: Clock = MONOTONIC,
  ) {
    this.refusals = new AdmissionRefusals(metrics, config.admissionTimeoutMs, () => this.waiting);
  }

  onModuleInit(): void {
    this.metrics.watchAdmission(() => ({ waiting: this.line.length, active: this.active }));
    for (const name of this.config.obsolete) {
      this.logger.warn(
        `${name} is no longer read and is ignored: writes now wait for a turn and are refused ` +
          'only once they have waited ADMISSION_TIMEOUT_MS (docs/OPERATIONS.md, ' +
          '"Under overload"); remove it',
      );
    }
  }

  onApplicationShutdown(): void {
    clearTimeout(this.watch);
    this.watch = undefined;
    this.refusals.close();
  }

  /** Writes waiting for their turn. */
  get waiting(): number {
    return this.line.length;
  }

  /** Writes being served now. */
  get inService(): number {
    return this.active;
  }

  /**
   * The Node server's request listener calls this for every request; `serve` serves it (at once,
   * or once the write has its turn). No closure per request: the hot path allocates one small
   * record for a write.
   */
  readonly admit = (req: IncomingMessage, res: ServerResponse, serve: Serve): void => {
    const limit = this.config.admissionConcurrency;
    if (limit === 0 || req.method !== 'POST' || !WRITE.test(req.url ?? '')) return serve(req, res);
    this.startWatch();
    if (this.active < limit && this.line.length === 0) {
      this.metrics.admissionWait.observe(0);
      return this.serve(req, res, serve);
    }
    this.line.push({ req, res, serve, since: this.clock.now() });
  };

  private serve(req: IncomingMessage, res: ServerResponse, serve: Serve): void {
    this.active++;
    this.admittedSinceWatch++;
    const served: Served = { owner: this, ended: false, readAt: undefined };
    (req as Marked<IncomingMessage>)[SERVED] = served;
    (res as Marked<ServerResponse>)[SERVED] = served;
    this.serving.add(served);
    // 'close' comes once per response, answered or not.
    res.on('close', closed);
    serve(req, res);
  }

  /** Gives a served write's place up (once): answered, gone, or served too long. */
  release(served: Served): void {
    if (served.ended) return;
    served.ended = true;
    this.active--;
    this.serving.delete(served);
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpDue || this.line.length === 0) return;
    this.pumpDue = true;
    setImmediate(this.pump);
  }

  /** Refuses what has waited the whole deadline, then hands the free places out. */
  private readonly pump = (): void => {
    this.pumpDue = false;
    this.expire();
    const now = this.clock.now();
    while (this.active < this.config.admissionConcurrency && this.line.length > 0) {
      const next = this.newestFirst ? this.line.takeLast()! : this.line.takeFirst()!;
      // The client may have gone while it waited.
      if (next.res.destroyed) continue;
      this.metrics.admissionWait.observe((now - next.since) / 1000);
      this.serve(next.req, next.res, next.serve);
    }
  };

  /** Refuses the writes that have waited the whole deadline (the oldest are first in line). */
  private expire(): void {
    const deadline = this.clock.now() - this.config.admissionTimeoutMs;
    const expired: ServerResponse[] = [];
    for (
      let first = this.line.first();
      first && first.since <= deadline;
      first = this.line.first()
    ) {
      expired.push(this.line.takeFirst()!.res);
    }
    if (expired.length > 0) this.refusals.refuse(expired);
  }

  private startWatch(): void {
    if (this.watch !== undefined) return;
    const now = this.clock.now();
    if (this.lastWatchAt === 0) this.lastWatchAt = now;
    this.watchDueAt = now + WATCH_EVERY_MS;
    this.watch = setTimeout(this.onWatch, WATCH_EVERY_MS);
    this.watch.unref();
  }

  /**
   * While writes wait or are served: takes the time the process did not run off every wait,
   * frees the places of writes served too long, refuses those past their deadline even when no
   * place frees up, measures the service rate and picks the order of the line.
   */
  private readonly onWatch = (): void => {
    this.watch = undefined;
    const now = this.clock.now();
    const late = now - this.watchDueAt;
    if (late > STALL_MS) this.line.forEach((waiting) => (waiting.since += late));
    this.endOverdue(now);
    this.measureRate(now, late > STALL_MS ? late : 0);
    this.pump();
    this.chooseOrder();
    if (this.line.length > 0 || this.active > 0) this.startWatch();
    else this.lastWatchAt = 0;
  };

  private endOverdue(now: number): void {
    for (const served of this.serving) {
      if (served.readAt !== undefined && now - served.readAt >= SERVED_AT_MOST_MS)
        this.release(served);
    }
  }

  private measureRate(now: number, stalled: number): void {
    const elapsed = now - this.lastWatchAt - stalled;
    if (elapsed <= 0) return;
    const rate = this.admittedSinceWatch / elapsed;
    // Smoothed over about half a second of watches.
    this.ratePerMs = this.ratePerMs === 0 ? rate : this.ratePerMs * 0.9 + rate * 0.1;
    this.admittedSinceWatch = 0;
    this.lastWatchAt = now;
  }

  /** Newest first while first-in order would keep a newcomer past 80 % of the deadline. */
  private chooseOrder(): void {
    if (this.line.length === 0) {
      this.newestFirst = false;
      return;
    }
    const forecastMs = this.ratePerMs > 0 ? this.line.length / this.ratePerMs : Infinity;
    const deadline = this.config.admissionTimeoutMs;
    if (forecastMs >= 0.8 * deadline) this.newestFirst = true;
    else if (forecastMs <= 0.5 * deadline) this.newestFirst = false;
  }
}
