import { idKey, SegmentIndex } from './spool-index';

describe(SegmentIndex.name, () => {
  it.each([false, true])(
    'finds the offsets of the records holding an id, newest first (sealed: %s)',
    (seal) => {
      const index = new SegmentIndex();
      for (let i = 0; i < 1000; i++) index.add(`id-${i % 300}`, i * 10);
      if (seal) index.seal();

      expect(index.candidates('id-7')).toEqual([9070, 6070, 3070, 70]);
      expect(index.candidates('id-300')).toEqual([]);
    },
  );

  it('matches entry_ ids whatever their case, other ids exactly', () => {
    const index = new SegmentIndex();
    index.add('entry_ABCdef', 1);
    index.add('Client-Id', 2);
    index.seal();

    expect(index.candidates('ENTRY_abcDEF')).toEqual([1]);
    expect(index.candidates('client-id')).toEqual([]);
    expect(idKey('Entry_X')).toBe('entry_x');
    expect(idKey('Entries')).toBe('Entries');
  });

  it('holds 8 bytes per id once sealed', () => {
    const index = new SegmentIndex();
    for (let i = 0; i < 5000; i++) index.add(`entry_${i}`, i);
    expect(index.bytes).toBeGreaterThanOrEqual(5000 * 8);
    index.seal();
    expect(index.bytes).toBe(5000 * 8);
  });

  it('takes no more ids once sealed', () => {
    const index = new SegmentIndex();
    index.seal();
    expect(() => index.add('x', 1)).toThrow('sealed');
  });
});
