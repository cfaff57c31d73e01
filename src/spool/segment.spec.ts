import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  newSegment,
  readForReplay,
  readRecordAt,
  SEGMENT_NAME,
  segmentName,
  syncDir,
  writeWhole,
  type Segment,
} from './segment';
import type { SpoolPoint as Point } from './spool-record';
import { encodeRecord, frameRecord, HEADER_BYTES } from './spool-record';

const MiB = 1024 * 1024;

function point(n: number, pad = ''): Point {
  return {
    measurement: 'analytics',
    tags: [['event', 'e']],
    fields: [
      ['big', 9007199254740993n + BigInt(n)],
      ['pad', pad],
    ],
    time: BigInt(n),
    eventId: `id-${n}`,
  };
}

/** A segment file holding `records` back to back, and the offset where each one ends. */
function writeSegment(dir: string, records: Buffer[]): { segment: Segment; ends: number[] } {
  const path = join(dir, segmentName(1));
  const data = Buffer.concat(records);
  writeFileSync(path, data);
  const segment = newSegment(1, path);
  segment.size = data.length;
  let end = 0;
  return { segment, ends: records.map((r) => (end += r.length)) };
}

/** A record whose checksum is right but whose payload is not JSON. */
function notARecord(): Buffer {
  return frameRecord(Buffer.from('not a spool record'));
}

describe('segment', () => {
  let dir: string;

  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'segment-spec-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe(segmentName.name, () => {
    it('names a segment by its sequence number in ten digits, so that names sort as numbers do', () => {
      const seqs = [9_999_999_999, 10, 2, 1];

      const names = seqs.map(segmentName);

      expect(names[1]).toBe('spool-0000000010.log');
      expect(names.map((n) => Number(SEGMENT_NAME.exec(n)?.[1]))).toEqual(seqs);
      expect([...names].sort()).toEqual([...names].reverse());
    });

    it.each([
      'spool-0000000001.log.tmp',
      'spool-1.log',
      'spool-00000000001.log',
      'old-spool-0000000001.log',
      'dead-letter.jsonl',
    ])('does not take %s for a segment', (name) => {
      expect(SEGMENT_NAME.test(name)).toBe(false);
    });
  });

  it('starts a segment with nothing written, replayed or pending, and an index of its own', () => {
    const first = newSegment(3, join(dir, segmentName(3)));
    const second = newSegment(4, join(dir, segmentName(4)));

    first.index.add('id-1', 0);

    expect(first).toMatchObject({ seq: 3, size: 0, drained: 0, pending: 0 });
    expect(first.index.candidates('id-1')).toEqual([0]);
    expect(second.index.candidates('id-1')).toEqual([]);
  });

  describe(readForReplay.name, () => {
    it('reads the records from where the replay stands, each with the offset where it ends', async () => {
      const { segment, ends } = writeSegment(dir, [
        encodeRecord([point(1)]),
        encodeRecord([point(2), point(3)]),
        encodeRecord([point(4)]),
      ]);
      segment.drained = ends[0]!;

      const entries = await readForReplay(segment, 100);

      expect(entries).toEqual([
        { segment: 1, end: ends[1], points: [point(2), point(3)] },
        { segment: 1, end: ends[2], points: [point(4)] },
      ]);
    });

    it.each([3, 4])('stops at the record that reaches maxPoints (%s)', async (maxPoints) => {
      const records = [1, 3, 5, 7].map((n) => encodeRecord([point(n), point(n + 1)]));
      const { segment, ends } = writeSegment(dir, records);

      const entries = await readForReplay(segment, maxPoints);

      expect(entries.map((e) => e.end)).toEqual([ends[0], ends[1]]);
    });

    it('reads nothing past the size written, nor anything once the segment is replayed', async () => {
      const { segment, ends } = writeSegment(dir, [
        encodeRecord([point(1)]),
        encodeRecord([point(2)]),
      ]);
      // Bytes of a failed write beyond `size`, which the next write goes over.
      segment.size = ends[0]!;

      const entries = await readForReplay(segment, 100);
      segment.drained = segment.size;
      const after = await readForReplay(segment, 100);

      expect(entries.map((e) => e.points)).toEqual([[point(1)]]);
      expect(after).toEqual([]);
    });

    it('reads a record larger than its 4 MiB window whole, and ends a window at its last whole record', async () => {
      const sizes = [3 * MiB, 3 * MiB, 5 * MiB];
      const { segment, ends } = writeSegment(
        dir,
        sizes.map((size, i) => encodeRecord([point(i, 'x'.repeat(size))])),
      );

      const windows: number[][] = [];
      while (segment.drained < segment.size) {
        const entries = await readForReplay(segment, 100);
        windows.push(entries.map((e) => e.end));
        segment.drained = entries.at(-1)!.end;
      }

      expect(windows).toEqual([[ends[0]], [ends[1]], [ends[2]]]);
    });

    it('returns the records before a torn last record, and rejects the torn one, naming where it is', async () => {
      const torn = encodeRecord([point(2)]);
      const { segment, ends } = writeSegment(dir, [
        encodeRecord([point(1)]),
        torn.subarray(0, torn.length - 3),
      ]);

      const entries = await readForReplay(segment, 100);
      segment.drained = ends[0]!;

      expect(entries.map((e) => e.points)).toEqual([[point(1)]]);
      await expect(readForReplay(segment, 100)).rejects.toThrow(
        `spool record at ${segment.path}:${ends[0]} is cut short`,
      );
    });

    it.each([
      [
        'checksum mismatch',
        (record: Buffer) => record.fill(0x20, HEADER_BYTES + 2, HEADER_BYTES + 3),
      ],
      ['payload is not a spool record', () => notARecord()],
    ])('rejects a damaged record (%s), naming its own offset', async (reason, damage) => {
      const { segment, ends } = writeSegment(dir, [
        encodeRecord([point(1)]),
        encodeRecord([point(2)]),
        damage(encodeRecord([point(3)])),
      ]);
      segment.drained = ends[0]!;

      await expect(readForReplay(segment, 100)).rejects.toThrow(
        `spool record at ${segment.path}:${ends[1]}: ${reason}`,
      );
    });

    it('rejects a segment whose file is gone', async () => {
      const segment = newSegment(1, join(dir, segmentName(1)));

      await expect(readForReplay(segment, 100)).rejects.toThrow('ENOENT');
    });
  });

  describe(readRecordAt.name, () => {
    it('reads the one record at an offset', async () => {
      const { segment, ends } = writeSegment(dir, [
        encodeRecord([point(1)]),
        encodeRecord([point(2), point(3)]),
        encodeRecord([point(4)]),
      ]);

      await expect(readRecordAt(segment.path, ends[0]!)).resolves.toEqual([point(2), point(3)]);
    });

    it('is undefined for a missing file, an offset past the end, or a damaged record', async () => {
      const { segment, ends } = writeSegment(dir, [encodeRecord([point(1)]), notARecord()]);

      await expect(readRecordAt(join(dir, segmentName(2)), 0)).resolves.toBeUndefined();
      await expect(readRecordAt(segment.path, segment.size + 100)).resolves.toBeUndefined();
      await expect(readRecordAt(segment.path, ends[0]!)).resolves.toBeUndefined();
    });

    it('is undefined for a record whose length field claims more than the file holds', async () => {
      const damaged = encodeRecord([point(1)]);
      damaged.writeUInt32LE(0xffffffff, 0);
      const { segment } = writeSegment(dir, [encodeRecord([point(0)]), damaged]);
      const second = segment.size - damaged.length;

      await expect(readRecordAt(segment.path, second)).resolves.toBeUndefined();
      // An offset inside a header reads its length from the wrong bytes.
      await expect(readRecordAt(segment.path, 1)).resolves.toBeUndefined();
    });
  });

  describe(syncDir.name, () => {
    it('syncs a directory that exists and rejects one that does not', async () => {
      await expect(syncDir(dir)).resolves.toBeUndefined();
      await expect(syncDir(join(dir, 'gone'))).rejects.toThrow('ENOENT');
    });
  });

  describe(writeWhole.name, () => {
    it('replaces a longer content whole and leaves no temporary file', async () => {
      const path = join(dir, segmentName(1));
      writeFileSync(path, encodeRecord([point(1, 'a longer first content')]));
      const data = encodeRecord([point(2)]);

      await writeWhole(path, data);

      expect(readFileSync(path)).toEqual(data);
      expect(readdirSync(dir)).toEqual([segmentName(1)]);
    });

    it('writes over a longer temporary file left by a crash before its rename', async () => {
      const path = join(dir, segmentName(1));
      writeFileSync(path, encodeRecord([point(1)]));
      writeFileSync(`${path}.tmp`, Buffer.alloc(4096, 0xff));
      const data = encodeRecord([point(2)]);

      await writeWhole(path, data);

      expect(readFileSync(path)).toEqual(data);
      expect(readdirSync(dir)).toEqual([segmentName(1)]);
    });

    it('rejects when the directory does not exist, and creates nothing', async () => {
      const path = join(dir, 'gone', segmentName(1));

      await expect(writeWhole(path, encodeRecord([point(1)]))).rejects.toThrow('ENOENT');
      expect(readdirSync(dir)).toEqual([]);
    });
  });
});
