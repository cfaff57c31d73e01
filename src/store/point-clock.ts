import { randomInt } from 'node:crypto';

/**
 * Timestamps for points. InfluxDB keeps one point per (measurement, tag set, time), so two
 * events stamped alike would silently overwrite each other. Within one process every stamp is
 * strictly greater than the one before (a microsecond counter that never goes back), and the
 * last three digits of the nanosecond stamp are a number drawn once per process, so that two
 * replicas of the service writing in the same microsecond almost never collide either
 * (1 in 1,000 per pair of processes, and only within the same microsecond).
 */
export class PointClock {
  private lastMicros = 0n;
  private anchorWall = 0n;
  private anchorMono = 0n;

  constructor(
    readonly processSuffix: bigint = BigInt(randomInt(1000)),
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
    return micros * 1000n + this.processSuffix;
  }

  private anchor(): void {
    this.anchorWall = BigInt(this.wallMillis()) * 1000n;
    this.anchorMono = this.monoNanos();
  }
}
