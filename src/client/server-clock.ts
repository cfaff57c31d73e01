/** The header every answer of stats-service carries: its clock, in ms since the epoch. */
export const SERVER_TIME_HEADER = 'x-server-time-ms';

/** Answers kept for the estimate: the one with the shortest round trip among them wins. */
const SAMPLES = 8;

/**
 * The service's clock as seen from here. Each answer says what the service's clock read
 * (X-Server-Time-Ms) somewhere between the request leaving and the answer arriving; taking the
 * midpoint, the error is at most half the round trip. Of the last 8 answers, the one with the
 * shortest round trip gives the offset (a slow answer says least about when it was written).
 */
export class ServerClock {
  private readonly samples: Array<{ offset: number; roundTrip: number }> = [];
  private best?: number;

  constructor(readonly local: () => number = Date.now) {}

  /** Whether any answer told the service's clock yet. */
  get known(): boolean {
    return this.best !== undefined;
  }

  /** Service clock minus local clock, in ms (0 until known). */
  get offsetMs(): number {
    return this.best ?? 0;
  }

  /** The service's clock now, by the estimate (the local clock until one is known). */
  now(): number {
    return this.local() + this.offsetMs;
  }

  /** One answer: local times the request left and its answer came, and the header's value. */
  observe(sentAt: number, answeredAt: number, header: string | null): void {
    if (header === null || !/^\d+$/.test(header)) return;
    const roundTrip = Math.max(0, answeredAt - sentAt);
    this.samples.push({ offset: Number(header) - (sentAt + answeredAt) / 2, roundTrip });
    if (this.samples.length > SAMPLES) this.samples.shift();
    let best = this.samples[0]!;
    for (const sample of this.samples) if (sample.roundTrip < best.roundTrip) best = sample;
    this.best = Math.round(best.offset);
  }
}
