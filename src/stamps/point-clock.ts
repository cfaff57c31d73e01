import { randomInt } from 'node:crypto';

/** Receive stamps use the sub-millisecond nanoseconds below this; event times the rest. */
export const RECEIVE_SLOTS = 500_000n;
/** Receive stamps per millisecond of one process (one per microsecond). */
const MICROS_PER_MS = 1000n;
const SLOTS_PER_MICRO = RECEIVE_SLOTS / MICROS_PER_MS;

/**
 * Receive-time stamps for points. InfluxDB keeps one point per (measurement, tag set, time), so
 * two events stamped alike would silently overwrite each other. Within one process every stamp
 * is strictly greater than the one before (a microsecond counter that never goes back). Each
 * millisecond's 1,000,000 nanoseconds are shared out: the lower half, 000000–499999, is for
 * receive stamps (the microsecond within the millisecond times 500, plus a number below 500
 * drawn once per process, so that two replicas stamping in the same microsecond almost never
 * collide: 1 in 500 per pair of processes, and only within that microsecond); the upper half,
 * 500000–999999, is for events that bring their own `time` (EventStamper).
 */
export class PointClock {
  private lastMicros = 0n;
  private anchorWall = 0n;
  private anchorMono = 0n;

  constructor(
    readonly processSuffix: bigint = BigInt(randomInt(Number(SLOTS_PER_MICRO))),
    private readonly wallMillis: () => number = Date.now,
    private readonly monoNanos: () => bigint = () => process.hrtime.bigint(),
  ) {
    this.anchor();
  }

  /** The next stamp, in nanoseconds since the epoch. */
  next(): bigint {
    let mono = this.monoNanos();
    // Re-read the wall clock every minute so NTP corrections reach the stamps; the counter
    // below keeps them increasing even if the wall clock stepped back.
    if (mono - this.anchorMono > 60_000_000_000n) {
      this.anchor();
      mono = this.anchorMono;
    }
    let micros = this.anchorWall + (mono - this.anchorMono) / 1000n;
    if (micros <= this.lastMicros) micros = this.lastMicros + 1n;
    this.lastMicros = micros;
    const ms = micros / MICROS_PER_MS;
    return ms * 1_000_000n + (micros % MICROS_PER_MS) * SLOTS_PER_MICRO + this.processSuffix;
  }

  private anchor(): void {
    this.anchorWall = BigInt(this.wallMillis()) * 1000n;
    this.anchorMono = this.monoNanos();
  }
}
