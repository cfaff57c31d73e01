/**
 * A double-ended queue in arrival order: taken from the front (first in, first out) or from the
 * back (newest first). A ring buffer, so that neither end costs a copy of the rest, however long
 * the line grows under a spike.
 */
export class WaitingLine<T> {
  private items: Array<T | undefined> = new Array<T | undefined>(64);
  private head = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(item: T): void {
    if (this.size === this.items.length) this.grow();
    this.items[(this.head + this.size) % this.items.length] = item;
    this.size++;
  }

  /** The oldest item, left in place. */
  first(): T | undefined {
    return this.size === 0 ? undefined : this.items[this.head];
  }

  takeFirst(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.size--;
    return item;
  }

  takeLast(): T | undefined {
    if (this.size === 0) return undefined;
    const at = (this.head + this.size - 1) % this.items.length;
    const item = this.items[at];
    this.items[at] = undefined;
    this.size--;
    return item;
  }

  /** Calls `visit` on every item, oldest first. */
  forEach(visit: (item: T) => void): void {
    for (let i = 0; i < this.size; i++) visit(this.items[(this.head + i) % this.items.length]!);
  }

  private grow(): void {
    const items = new Array<T | undefined>(this.items.length * 2);
    for (let i = 0; i < this.size; i++) items[i] = this.items[(this.head + i) % this.items.length];
    this.items = items;
    this.head = 0;
  }
}
