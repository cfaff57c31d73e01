import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { segmentName } from './segment';
import { encodeRecord, frameRecord, HEADER_BYTES, type SpoolPoint } from './spool-record';
import { recoverSegments } from './spool-recovery';

function point(id: string | undefined, time: bigint): SpoolPoint {
  return {
    measurement: 'analytics',
    tags: [['event', 'e']],
    fields: [['uid', `u-${id}`]],
    time,
    ...(id === undefined ? {} : { eventId: id }),
  };
}

/** A record of one point holding `id`. */
const record = (id: string, time = 1n): Buffer => encodeRecord([point(id, time)]);

/** A record whose checksum no longer matches its payload (one payload byte changed). */
function withBadChecksum(data: Buffer): Buffer {
  const copy = Buffer.from(data);
  copy.writeUInt8(copy.readUInt8(HEADER_BYTES + 2) ^ 0xff, HEADER_BYTES + 2);
  return copy;
}

/** A record that claims more bytes than the file holds. */
function withBadLength(data: Buffer): Buffer {
  const copy = Buffer.from(data);
  copy.writeUInt32LE(1_000_000, 0);
  return copy;
}

/** A header and checksum that match a payload which is not spool JSON. */
function notASpoolRecord(): Buffer {
  return frameRecord(Buffer.from('not json at all'));
}

describe(recoverSegments.name, () => {
  let dir: string;
  let warnings: string[];
  let errors: string[];
  const logger = {
    warn: (message: string) => void warnings.push(message),
    error: (message: string) => void errors.push(message),
  };
  const write = (seq: number, ...records: Buffer[]) =>
    writeFileSync(join(dir, segmentName(seq)), Buffer.concat(records));
  const onDisk = (seq: number) => readFileSync(join(dir, segmentName(seq)));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'spool-recovery-'));
    warnings = [];
    errors = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the segments oldest first and indexes the event ids of their records', async () => {
    const a = record('a', 10n);
    const both = encodeRecord([point('b', 20n), point(undefined, 30n), point('c', 40n)]);
    write(10, record('z', 50n));
    write(2, a, both);

    const [first, second, ...rest] = await recoverSegments(dir, logger);

    expect(rest).toEqual([]);
    expect(first).toMatchObject({
      seq: 2,
      path: join(dir, segmentName(2)),
      size: a.length + both.length,
      drained: 0,
      pending: 2,
      oldestNs: 10n,
    });
    expect(first!.index.candidates('a')).toEqual([0]);
    expect(first!.index.candidates('b')).toEqual([a.length]);
    expect(first!.index.candidates('c')).toEqual([a.length]);
    expect(first!.index.candidates('z')).toEqual([]);
    expect(second).toMatchObject({ seq: 10, pending: 1, oldestNs: 50n });
    expect(second!.index.candidates('z')).toEqual([0]);
    expect([...warnings, ...errors]).toEqual([]);
  });

  it('seals every segment it recovers: new records go to a new one', async () => {
    write(1, record('a'));

    const [segment] = await recoverSegments(dir, logger);

    expect(() => segment!.index.add('b', 0)).toThrow('sealed');
  });

  it.each([
    ['a partial header', 3],
    ['a partial payload', HEADER_BYTES + 5],
  ])('cuts off a record torn at the end (%s) and reports it', async (_, tornBytes) => {
    const whole = record('a');
    write(1, whole, record('torn').subarray(0, tornBytes));

    const [segment] = await recoverSegments(dir, logger);

    expect(onDisk(1)).toEqual(whole);
    expect(segment).toMatchObject({ size: whole.length, pending: 1 });
    expect(segment!.index.candidates('torn')).toEqual([]);
    expect(warnings).toEqual([
      `spool ${segmentName(1)}: ${tornBytes} bytes at offset ${whole.length} are a torn or damaged last record; skipped`,
    ]);
    expect(errors).toEqual([]);
  });

  it.each([
    ['checksum mismatch', withBadChecksum(record('bad'))],
    ['bad length', withBadLength(record('bad'))],
    ['payload is not a spool record', notASpoolRecord()],
  ])(
    'skips a damaged record inside a segment (%s) and keeps the records after it',
    async (reason, damaged) => {
      const a = record('a', 1n);
      const c = record('c', 3n);
      write(1, a, damaged, c);

      const [segment] = await recoverSegments(dir, logger);

      expect(onDisk(1)).toEqual(Buffer.concat([a, c]));
      expect(readdirSync(dir)).toEqual([segmentName(1)]);
      expect(segment).toMatchObject({ size: a.length + c.length, pending: 2, oldestNs: 1n });
      expect(segment!.index.candidates('c')).toEqual([a.length]);
      expect(segment!.index.candidates('bad')).toEqual([]);
      expect(errors).toEqual([
        `spool ${segmentName(1)}: damaged record at offset ${a.length} (${reason}); skipped ${damaged.length} bytes`,
      ]);
      expect(warnings).toEqual([]);
    },
  );

  it('reports a damaged last record and cuts it off like a torn one', async () => {
    const a = record('a');
    write(1, a, withBadChecksum(record('bad')));

    const [segment] = await recoverSegments(dir, logger);

    expect(onDisk(1)).toEqual(a);
    expect(segment).toMatchObject({ size: a.length, pending: 1 });
    expect(warnings).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it('skips several damaged records and a torn tail in one segment, keeping the rest', async () => {
    const [a, c, e] = [record('a'), record('c'), record('e')];
    write(
      1,
      a,
      withBadChecksum(record('b')),
      c,
      withBadLength(record('d')),
      e,
      record('f').subarray(0, 12),
    );

    const [segment] = await recoverSegments(dir, logger);

    expect(onDisk(1)).toEqual(Buffer.concat([a, c, e]));
    expect(segment!.pending).toBe(3);
    expect(segment!.index.candidates('e')).toEqual([a.length + c.length]);
    expect(errors).toHaveLength(2);
    expect(warnings).toHaveLength(1);
  });

  it('repairs a segment again when a crash left the repair between write and rename', async () => {
    const [a, c] = [record('a'), record('c')];
    write(1, a, withBadChecksum(record('b')), c);
    writeFileSync(join(dir, `${segmentName(1)}.tmp`), a.subarray(0, 5));

    const [segment] = await recoverSegments(dir, logger);

    expect(readdirSync(dir)).toEqual([segmentName(1)]);
    expect(onDisk(1)).toEqual(Buffer.concat([a, c]));
    expect(segment!.index.candidates('c')).toEqual([a.length]);
  });

  it('deletes empty segments, and segments that held only a torn record', async () => {
    write(1);
    write(2, record('torn').subarray(0, 10));
    write(3, record('kept'));

    const segments = await recoverSegments(dir, logger);

    expect(segments.map((s) => s.seq)).toEqual([3]);
    expect(readdirSync(dir)).toEqual([segmentName(3)]);
    expect(warnings).toHaveLength(1);
  });

  it('takes a file of another format under a segment name for a torn record, and deletes it', async () => {
    writeFileSync(join(dir, segmentName(1)), 'just some text, no spool record\n');

    const segments = await recoverSegments(dir, logger);

    expect(segments).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
    expect(warnings).toEqual([
      `spool ${segmentName(1)}: 32 bytes at offset 0 are a torn or damaged last record; skipped`,
    ]);
  });

  it('leaves files that are not segments alone', async () => {
    const others = [
      'spool-1.log',
      'spool-00000000001.log',
      `${segmentName(4)}.tmp`,
      'dead-letter.jsonl',
      'notes.txt',
    ];
    for (const name of others)
      writeFileSync(join(dir, name), name === 'notes.txt' ? '' : record(name));

    const segments = await recoverSegments(dir, logger);

    expect(segments).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual([...others].sort());
    expect(readFileSync(join(dir, 'spool-1.log'))).toEqual(record('spool-1.log'));
    expect(readFileSync(join(dir, 'notes.txt'))).toHaveLength(0);
    expect([...warnings, ...errors]).toEqual([]);
  });

  it('rejects when SPOOL_DIR does not exist', async () => {
    await expect(recoverSegments(join(dir, 'missing'), logger)).rejects.toThrow('ENOENT');
  });
});
