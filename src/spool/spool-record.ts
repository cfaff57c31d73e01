/**
 * A point as the spool keeps it: as it was made (untyped, stamped, with its event id if any).
 * Declared here, structurally, so that the spool knows points and nothing above it: the
 * store's Point (store/point.ts) is this shape.
 */
export interface SpoolPoint {
  readonly measurement: string;
  readonly tags: ReadonlyArray<readonly [string, string]>;
  readonly fields: ReadonlyArray<readonly [string, string | number | bigint | boolean]>;
  /** Nanoseconds since the Unix epoch. */
  readonly time: bigint;
  readonly eventId?: string;
}

/** Length and checksum before each payload. */
export const HEADER_BYTES = 8;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE), as zlib computes it. */
export function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

type SpoolFields = SpoolPoint['fields'];

/** A field entry of a record that holds a bigint: `[key, "<digits>", "bigint"]`. */
const BIGINT = 'bigint';

/**
 * The fields as a record writes them: `[key, value]`, except an integer beyond ±2^53 (a bigint,
 * which JSON.stringify cannot write and JSON.parse would round), written as its digits with a
 * third element, `[key, "9007199254740993", "bigint"]`. The same array when there is none.
 */
function encodeFields(fields: SpoolFields): ReadonlyArray<readonly unknown[]> {
  if (!fields.some(([, value]) => typeof value === 'bigint')) return fields;
  return fields.map(([key, value]) =>
    typeof value === 'bigint' ? [key, value.toString(), BIGINT] : [key, value],
  );
}

/** The fields of a record as they were given; records without a bigint are read as they are. */
function decodeFields(fields: ReadonlyArray<readonly unknown[]>): SpoolFields {
  if (!fields.some((entry) => entry.length > 2)) return fields as SpoolFields;
  return fields.map(([key, value, kind]) => [
    key as string,
    kind === BIGINT ? BigInt(value as string) : (value as string | number | boolean),
  ]);
}

/**
 * A record on disk: payload length (u32 LE), CRC-32 of the payload (u32 LE), payload (JSON: the
 * points, `m`, `t`, `f`, `ns` and `id` each; a field `[key, value]`, or `[key, digits,
 * "bigint"]` for an integer beyond ±2^53). The checksum tells a record torn by a crash (or
 * damaged on disk) from a whole one. This format is what deployments have on disk: a change
 * must still read records written by it (records of earlier versions have two-element fields).
 */
export function encodeRecord(points: readonly SpoolPoint[]): Buffer {
  const payload = Buffer.from(
    JSON.stringify(
      points.map((p) => ({
        m: p.measurement,
        t: p.tags,
        f: encodeFields(p.fields),
        ns: String(p.time),
        id: p.eventId,
      })),
    ),
  );
  return frameRecord(payload);
}

/** A payload with its record header: its length and its CRC-32. */
export function frameRecord(payload: Buffer): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([header, payload]);
}

export type DecodeResult =
  | { kind: 'record'; points: SpoolPoint[]; bytes: number }
  /** Not enough bytes for a whole record: the end of the file, or a record torn mid-write. */
  | { kind: 'incomplete' }
  | { kind: 'corrupt'; reason: string };

/** Decodes the record at the start of `buffer`. */
export function decodeRecord(buffer: Buffer): DecodeResult {
  if (buffer.length < HEADER_BYTES) return { kind: 'incomplete' };
  const length = buffer.readUInt32LE(0);
  if (buffer.length < HEADER_BYTES + length) return { kind: 'incomplete' };
  const payload = buffer.subarray(HEADER_BYTES, HEADER_BYTES + length);
  if (crc32(payload) !== buffer.readUInt32LE(4))
    return { kind: 'corrupt', reason: 'checksum mismatch' };
  try {
    const raw = JSON.parse(payload.toString('utf8')) as Array<{
      m: string;
      t: Array<[string, string]>;
      f: ReadonlyArray<readonly unknown[]>;
      ns: string;
      id?: string;
    }>;
    const points = raw.map((p) => ({
      measurement: p.m,
      tags: p.t,
      fields: decodeFields(p.f),
      time: BigInt(p.ns),
      ...(p.id === undefined ? {} : { eventId: p.id }),
    }));
    return { kind: 'record', points, bytes: HEADER_BYTES + length };
  } catch {
    return { kind: 'corrupt', reason: 'payload is not a spool record' };
  }
}
