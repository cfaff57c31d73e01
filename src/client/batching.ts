/**
 * How many queued events, head first, go into the next `POST /log/events`: at most `maxEvents`,
 * and the JSON array of their serialised forms (`[a,b,c]`: the sizes, the commas and two
 * brackets) at most `maxBytes`. Always at least one when any is queued, so that an event larger
 * than `maxBytes` still leaves (alone; the service refuses it with 413 if it is too large).
 */
export function batchLength(sizes: Iterable<number>, maxEvents: number, maxBytes: number): number {
  let count = 0;
  let bytes = 2;
  if (maxEvents < 1) return 0;
  for (const size of sizes) {
    const next = bytes + size + (count === 0 ? 0 : 1);
    if (count > 0 && next > maxBytes) break;
    bytes = next;
    count += 1;
    if (count === maxEvents) break;
  }
  return count;
}

/** The JSON array body of a batch, from its events already serialised. */
export function batchBody(serialised: readonly string[]): string {
  return `[${serialised.join(',')}]`;
}

/** A batch the service found too large (413), in two halves sent one after the other. */
export function halves<T>(batch: readonly T[]): [T[], T[]] {
  const middle = Math.ceil(batch.length / 2);
  return [batch.slice(0, middle), batch.slice(middle)];
}
