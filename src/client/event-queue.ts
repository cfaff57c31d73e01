/** Which event makes room when the queue is full: the oldest queued, or the one being added. */
export type DropPolicy = 'oldest' | 'newest';

/** A bounded first-in first-out queue (a ring buffer: no copying when it is full and busy). */
export class EventQueue<T> {
  private readonly items: Array<T | undefined>;
  private head = 0;
  private count = 0;

  constructor(
    readonly capacity: number,
    private readonly policy: DropPolicy,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError('EventQueue capacity must be a positive integer');
    }
    this.items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.count;
  }

  /** Adds `item` at the tail; returns the item dropped to make room, if the queue was full. */
  push(item: T): T | undefined {
    if (this.count < this.capacity) {
      this.items[(this.head + this.count) % this.capacity] = item;
      this.count += 1;
      return undefined;
    }
    if (this.policy === 'newest') return item;
    const oldest = this.items[this.head] as T;
    this.items[this.head] = item;
    this.head = (this.head + 1) % this.capacity;
    return oldest;
  }

  /** Removes and returns up to `n` items from the head, oldest first. */
  shift(n: number = this.count): T[] {
    const taken: T[] = [];
    const total = Math.min(n, this.count);
    for (let i = 0; i < total; i += 1) {
      taken.push(this.items[this.head] as T);
      this.items[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
    }
    this.count -= total;
    return taken;
  }

  /** The queued items, oldest first, without removing them. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.count; i += 1) {
      yield this.items[(this.head + i) % this.capacity] as T;
    }
  }
}
