import { randomFillSync } from 'node:crypto';

/**
 * UUIDv7 (RFC 9562 §5.7): 48 bits of Unix time in milliseconds, big-endian, then version 7,
 * 12 bits `rand_a`, variant `10`, 62 bits `rand_b`. Ids sort as text in the order they were
 * made, so the service can bound a read-back by them. `rand_a` is a counter within one
 * millisecond (§6.2, method 1), started at a random value below 2048 at each new
 * millisecond, so ids of one process increase strictly even when many share a millisecond or
 * the clock steps back; `rand_b` is random for every id.
 */
export class UuidV7 {
  private lastMs = -1;
  private counter = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly fillRandom: (bytes: Uint8Array) => void = (bytes) => randomFillSync(bytes),
  ) {}

  next(): string {
    const random = new Uint8Array(10);
    this.fillRandom(random);
    const now = this.now();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.counter = ((random[0]! << 8) | random[1]!) & 0x7ff;
    } else if (this.counter < 0xfff) {
      this.counter += 1;
    } else {
      // 4096 ids in one millisecond: borrow the next one, as §6.2 allows.
      this.lastMs += 1;
      this.counter = 0;
    }
    return uuidV7Text(this.lastMs, this.counter, random.subarray(2));
  }
}

/** The text form of a UUIDv7 from its fields: `unixMs` (48 bits), `randA` (12), 62 bits of `randB`. */
export function uuidV7Text(unixMs: number, randA: number, randB: Uint8Array): string {
  const bytes = new Uint8Array(16);
  let ms = unixMs;
  for (let i = 5; i >= 0; i -= 1) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = 0x70 | ((randA >> 8) & 0x0f);
  bytes[7] = randA & 0xff;
  bytes.set(randB.subarray(0, 8), 8);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const shared = new UuidV7();

/** A new UUIDv7, strictly greater than every one this process made before. */
export function uuidV7(): string {
  return shared.next();
}
