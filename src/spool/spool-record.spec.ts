import type { SpoolPoint as Point } from './spool-record';
import { crc32, decodeRecord, encodeRecord } from './spool-record';

const POINT: Point = {
  measurement: 'analytics',
  tags: [['event', 'login']],
  fields: [
    ['uid', 'u-1'],
    ['n', 1.5],
    ['ok', true],
  ],
  time: 1_795_824_438_293_000_123n,
  eventId: 'entry_0123456789abcdef0123456789abcdef',
};

describe(crc32.name, () => {
  it('matches the CRC-32 check value of "123456789" (0xCBF43926)', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('is 0 for no bytes', () => {
    expect(crc32(Buffer.alloc(0))).toBe(0);
  });
});

describe(encodeRecord.name, () => {
  it('round-trips points with bigint times and optional ids', () => {
    const { measurement, tags, fields, time } = POINT;
    const anonymous: Point = { measurement, tags, fields, time };
    const data = encodeRecord([POINT, anonymous]);
    expect(decodeRecord(data)).toEqual({
      kind: 'record',
      points: [POINT, anonymous],
      bytes: data.length,
    });
  });

  it('round-trips integers beyond ±2^53 (bigints) with every digit', () => {
    const big: Point = {
      ...POINT,
      fields: [
        ['max', 9223372036854775807n],
        ['min', -9223372036854775808n],
        ['text', '9007199254740993'],
        ['n', 2],
      ],
    };
    const data = encodeRecord([big]);
    expect(decodeRecord(data)).toEqual({ kind: 'record', points: [big], bytes: data.length });
    const decoded = decodeRecord(data);
    if (decoded.kind !== 'record') throw new Error('not a record');
    expect(decoded.points[0]!.fields.map(([, value]) => typeof value)).toEqual([
      'bigint',
      'bigint',
      'string',
      'number',
    ]);
  });

  it('reads a record of an earlier version, whose fields have two elements', () => {
    const payload = Buffer.from(
      '[{"m":"analytics","t":[["event","e"]],"f":[["n",1],["s","x"]],"ns":"5","id":"entry_x"}]',
    );
    const header = Buffer.alloc(8);
    header.writeUInt32LE(payload.length, 0);
    header.writeUInt32LE(crc32(payload), 4);
    const data = Buffer.concat([header, payload]);
    expect(decodeRecord(data)).toEqual({
      kind: 'record',
      points: [
        {
          measurement: 'analytics',
          tags: [['event', 'e']],
          fields: [
            ['n', 1],
            ['s', 'x'],
          ],
          time: 5n,
          eventId: 'entry_x',
        },
      ],
      bytes: data.length,
    });
  });

  it('writes the payload length and its CRC-32 in front, little-endian', () => {
    const data = encodeRecord([POINT]);
    const payload = data.subarray(8);
    expect(data.readUInt32LE(0)).toBe(payload.length);
    expect(data.readUInt32LE(4)).toBe(crc32(payload));
    expect(JSON.parse(payload.toString())).toEqual([
      {
        m: 'analytics',
        t: [['event', 'login']],
        f: [
          ['uid', 'u-1'],
          ['n', 1.5],
          ['ok', true],
        ],
        ns: '1795824438293000123',
        id: 'entry_0123456789abcdef0123456789abcdef',
      },
    ]);
  });
});

describe(decodeRecord.name, () => {
  const data = encodeRecord([POINT]);

  it('reads one record from the front of a longer buffer', () => {
    const result = decodeRecord(Buffer.concat([data, Buffer.from('next')]));
    expect(result).toMatchObject({ kind: 'record', bytes: data.length });
  });

  it('calls a record cut short incomplete, at every cut', () => {
    for (const cut of [0, 3, 8, data.length - 1]) {
      expect(decodeRecord(data.subarray(0, cut))).toEqual({ kind: 'incomplete' });
    }
  });

  it('calls a record with a flipped payload byte corrupt', () => {
    const damaged = Buffer.from(data);
    damaged.writeUInt8(damaged.readUInt8(damaged.length - 2) ^ 0x01, damaged.length - 2);
    expect(decodeRecord(damaged)).toEqual({ kind: 'corrupt', reason: 'checksum mismatch' });
  });

  it('calls a checksummed payload that is not a record corrupt', () => {
    const payload = Buffer.from('not json');
    const header = Buffer.alloc(8);
    header.writeUInt32LE(payload.length, 0);
    header.writeUInt32LE(crc32(payload), 4);
    expect(decodeRecord(Buffer.concat([header, payload]))).toEqual({
      kind: 'corrupt',
      reason: 'payload is not a spool record',
    });
  });
});
