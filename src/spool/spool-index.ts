/**
 * Which records of one segment hold which event ids, so that reading back a queued event reads
 * no disk unless the spool holds it (and then one record). Decision (docs/OPERATIONS.md, "The
 * spool on disk and in memory"): the index holds a 32-bit hash of each spooled event id and the
 * offset of its record, 8 bytes per event in typed arrays, not the ids or the points. A full
 * spool of SPOOL_MAX_BYTES (1 GiB) holds about 4.3 million single events of ~250 bytes: 34 MB
 * of index (points held as JS objects would take several times the spool's own size). A hash
 * can match another id (1 in 4 billion per id held): the record read is then checked, and the
 * search goes on.
 */
export class SegmentIndex {
  private hashes: Uint32Array<ArrayBuffer> = new Uint32Array(256);
  private offsets: Uint32Array<ArrayBuffer> = new Uint32Array(256);
  private count = 0;
  /** Sorted by hash (then offset) once the segment takes no more records. */
  private sealed = false;

  add(id: string, offset: number): void {
    if (this.sealed) throw new Error('a sealed segment index takes no more ids');
    if (this.count === this.hashes.length) {
      this.hashes = grow(this.hashes);
      this.offsets = grow(this.offsets);
    }
    this.hashes[this.count] = hashId(id);
    this.offsets[this.count] = offset;
    this.count++;
  }

  /**
   * The segment takes no more records: the arrays are cut to size and sorted by hash, so that a
   * lookup is a binary search (about 17 steps for a segment of 8 MiB).
   */
  seal(): void {
    if (this.sealed) return;
    const order = Array.from({ length: this.count }, (_, i) => i);
    const hashes = this.hashes;
    const offsets = this.offsets;
    order.sort((a, b) => hashes[a]! - hashes[b]! || offsets[a]! - offsets[b]!);
    this.hashes = Uint32Array.from(order, (i) => hashes[i]!);
    this.offsets = Uint32Array.from(order, (i) => offsets[i]!);
    this.sealed = true;
  }

  /** Offsets of the records that may hold `id`, newest (largest) first. */
  candidates(id: string): number[] {
    const hash = hashId(id);
    const found: number[] = [];
    if (this.sealed) {
      let low = 0;
      let high = this.count;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (this.hashes[middle]! < hash) low = middle + 1;
        else high = middle;
      }
      for (let i = low; i < this.count && this.hashes[i] === hash; i++)
        found.push(this.offsets[i]!);
    } else {
      for (let i = this.hashes.indexOf(hash); i >= 0 && i < this.count;) {
        found.push(this.offsets[i]!);
        i = this.hashes.indexOf(hash, i + 1);
      }
    }
    return found.sort((a, b) => b - a);
  }

  /** Bytes of memory the index holds. */
  get bytes(): number {
    return this.hashes.byteLength + this.offsets.byteLength;
  }
}

/**
 * The id as it is looked up: `entry_` ids match whatever their case (the original lower-cased
 * them, and InfluxDB is asked case-insensitively), other ids exactly.
 */
export function idKey(id: string): string {
  return id.length >= 6 && id.slice(0, 6).toLowerCase() === 'entry_' ? id.toLowerCase() : id;
}

/** 32-bit FNV-1a of the id's key. */
function hashId(id: string): number {
  const key = idKey(id);
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function grow(array: Uint32Array): Uint32Array<ArrayBuffer> {
  const larger = new Uint32Array(array.length * 2);
  larger.set(array);
  return larger;
}
