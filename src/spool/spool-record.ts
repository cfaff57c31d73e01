import type { Point } from '../influx/line-protocol';

const HEADER_BYTES = 8;

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

/**
 * A record on disk (points as they were made: untyped, stamped, with their event id if any): payload length (u32 LE), CRC-32 of the payload (u32 LE), payload (JSON).
 * The checksum tells a record torn by a crash (or damaged on disk) from a whole one.
 */
export function encodeRecord(points: readonly Point[]): Buffer {
  const payload = Buffer.from(
    JSON.stringify(
      points.map((p) => ({
        m: p.measurement,
        t: p.tags,
        f: p.fields,
        ns: String(p.time),
        id: p.eventId,
      })),
    ),
  );
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([header, payload]);
}

export type DecodeResult =
  | { kind: 'record'; points: Point[]; bytes: number }
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
      f: Point['fields'];
      ns: string;
      id?: string;
    }>;
    const points = raw.map((p) => ({
      measurement: p.m,
      tags: p.t,
      fields: p.f,
      time: BigInt(p.ns),
      ...(p.id === undefined ? {} : { eventId: p.id }),
    }));
    return { kind: 'record', points, bytes: HEADER_BYTES + length };
  } catch {
    return { kind: 'corrupt', reason: 'payload is not a spool record' };
  }
}
