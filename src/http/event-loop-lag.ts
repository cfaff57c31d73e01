import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** Milliseconds from a monotonic origin. */
export type Clock = () => number;
/** Cumulative idle and active time of the event loop (`performance.eventLoopUtilization()`). */
export type Utilization = () => Pick<EventLoopUtilization, 'idle' | 'active'>;

/** How often the sampler's timer is due: often enough to see a busy loop within one tick. */
const SAMPLE_EVERY_MS = 20;
/** Utilization is measured over the last this many samples (100 ms). */
const WINDOW_SAMPLES = 5;

/**
 * How busy the event loop is, from a timer due every 20 ms:
 *
 * - `ms`, its delay: the lateness of the timer's last firing, or, when it is already overdue
 *   now, how overdue it is. The second lets a request that arrives late in one long turn of the
 *   loop see that turn's delay at once (`perf_hooks.monitorEventLoopDelay` only reports a delay
 *   once the delayed timer has run).
 * - `utilization`, the share of the last 100 ms the loop spent working rather than waiting for
 *   I/O. A loop busy with many short turns has little delay, yet has no time left: Node accepts
 *   one new connection per turn, so a probe's connection waits behind every connection queued
 *   before it, for as long as the turns are full.
 *
 * The timer does not keep the process alive.
 */
export class EventLoopLag {
  private dueAt = 0;
  private lastLagMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly window: Array<Pick<EventLoopUtilization, 'idle' | 'active'>> = [];

  constructor(
    private readonly clock: Clock = () => performance.now(),
    private readonly elu: Utilization = () => performance.eventLoopUtilization(),
  ) {}

  start(): void {
    if (this.timer === undefined) this.schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.lastLagMs = 0;
    this.window.length = 0;
  }

  /** The loop's current delay in milliseconds (0 while stopped). */
  get ms(): number {
    if (this.timer === undefined) return 0;
    return Math.max(this.lastLagMs, this.clock() - this.dueAt);
  }

  /** Share (0 to 1) of the last 100 ms the loop was busy (0 while stopped or not yet known). */
  get utilization(): number {
    // Until a whole window has passed since start(), the share would include start-up work.
    if (this.window.length <= WINDOW_SAMPLES) return 0;
    const oldest = this.window[0]!;
    const newest = this.window.at(-1)!;
    const active = newest.active - oldest.active;
    const total = active + newest.idle - oldest.idle;
    return total > 0 ? active / total : 0;
  }

  private schedule(): void {
    this.dueAt = this.clock() + SAMPLE_EVERY_MS;
    this.timer = setTimeout(() => {
      this.lastLagMs = Math.max(0, this.clock() - this.dueAt);
      this.window.push(this.elu());
      if (this.window.length > WINDOW_SAMPLES + 1) this.window.shift();
      this.schedule();
    }, SAMPLE_EVERY_MS).unref();
  }
}
