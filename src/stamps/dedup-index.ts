/**
 * The client event ids this process stamped recently, each with the time its point was given:
 * a resend of one of them gets that same time, so it is the identical point (InfluxDB keeps one
 * point per measurement, tag set and time) and is reported as a duplicate. Ids are kept as their
 * 53-bit cyrb53 hash in typed arrays (a ring, oldest first, and an open-addressing table over
 * it): about 32 bytes per id, 16 MB at the default DEDUP_MAX_EVENTS, and nothing for the collector
 * to walk. An id is forgotten once it is older than the window or when the ring is full (the
 * oldest first).
 *
 * Two different ids with the same hash would be taken for one: with n ids remembered, a new id
 * matches one of them with probability n / 2^53 (5.6e-11 at 500,000).
 */
export class DedupIndex {
  private readonly hashes: Float64Array;
  private readonly stamps: BigInt64Array;
  private readonly seenAt: Float64Array;
  /** Ring position + 1 of each id, by hash; 0: free. Twice the ring or more, a power of two. */
  private readonly table: Int32Array;
  private readonly mask: number;
  private head = 0;
  private count = 0;

  constructor(
    readonly capacity: number,
    private readonly windowMs: number,
  ) {
    this.hashes = new Float64Array(capacity);
    this.stamps = new BigInt64Array(capacity);
    this.seenAt = new Float64Array(capacity);
    let size = 1024;
    while (size < capacity * 2) size *= 2;
    this.table = new Int32Array(size);
    this.mask = size - 1;
  }

  get size(): number {
    return this.count;
  }

  /** The time given to the id of this hash, if it was seen within the window before `nowMs`. */
  get(hash: number, nowMs: number): bigint | undefined {
    const slot = this.find(hash);
    if (slot < 0) return undefined;
    const at = this.table[slot]! - 1;
    return nowMs - this.seenAt[at]! <= this.windowMs ? this.stamps[at]! : undefined;
  }

  /**
   * Remembers the id of this hash with its time, seen at `seenAtMs` (added in that order).
   * `absent`: get() just answered nothing for it at `seenAtMs`, so it needs no looking for.
   */
  add(hash: number, stamp: bigint, seenAtMs: number, absent = false): void {
    this.expire(seenAtMs);
    const existing = absent ? -1 : this.find(hash);
    if (existing >= 0) this.remove(existing);
    if (this.count === this.capacity) this.evictOldest();
    const at = (this.head + this.count) % this.capacity;
    this.hashes[at] = hash;
    this.stamps[at] = stamp;
    this.seenAt[at] = seenAtMs;
    this.count += 1;
    let slot = this.home(hash);
    while (this.table[slot] !== 0) slot = (slot + 1) & this.mask;
    this.table[slot] = at + 1;
  }

  /**
   * Every id remembered, oldest first: its hash, time and when it was seen. The copy an id left
   * in the ring when it was added again is not one of them (the stamp log writes these out).
   */
  *entries(): Generator<[number, bigint, number]> {
    for (let i = 0; i < this.count; i++) {
      const at = (this.head + i) % this.capacity;
      const hash = this.hashes[at]!;
      if (this.table[this.find(hash)] !== at + 1) continue;
      yield [hash, this.stamps[at]!, this.seenAt[at]!];
    }
  }

  /** Forgets the ids seen more than the window before `nowMs` (they are the oldest). */
  expire(nowMs: number): void {
    while (this.count > 0 && nowMs - this.seenAt[this.head]! > this.windowMs) this.evictOldest();
  }

  private evictOldest(): void {
    const slot = this.find(this.hashes[this.head]!);
    // An id re-added later was moved out of the ring's head already; its hash points elsewhere.
    if (slot >= 0 && this.table[slot] === this.head + 1) this.remove(slot);
    this.head = (this.head + 1) % this.capacity;
    this.count -= 1;
  }

  private home(hash: number): number {
    // The low 32 bits of the hash (ToUint32 is the value modulo 2^32), then the table's bits.
    return (hash >>> 0) & this.mask;
  }

  /** The table slot holding this hash, or -1. */
  private find(hash: number): number {
    let slot = this.home(hash);
    for (;;) {
      const entry = this.table[slot]!;
      if (entry === 0) return -1;
      if (this.hashes[entry - 1] === hash) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  /** Empties a slot, moving later entries of its probe run back (no tombstones). */
  private remove(slot: number): void {
    let hole = slot;
    let next = (slot + 1) & this.mask;
    while (this.table[next] !== 0) {
      const home = this.home(this.hashes[this.table[next]! - 1]!);
      // Move the entry into the hole unless its home lies cyclically in (hole, next].
      const between = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (!between) {
        this.table[hole] = this.table[next]!;
        hole = next;
      }
      next = (next + 1) & this.mask;
    }
    this.table[hole] = 0;
  }
}
