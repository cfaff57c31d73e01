import { batchBody, batchLength, halves } from './batching';

describe(batchLength.name, () => {
  it('takes at most maxEvents', () => {
    expect(batchLength(Array(1200).fill(10), 500, 1_000_000)).toBe(500);
    expect(batchLength(Array(30).fill(10), 500, 1_000_000)).toBe(30);
  });

  it('takes as many as fit in maxBytes, counting the brackets and commas of the array', () => {
    // [a,b,c] with 10-byte events: 2 + 3 × 10 + 2 = 34 bytes.
    const body = batchBody(Array.from({ length: 3 }, () => '"abcdefgh"'));
    expect(Buffer.byteLength(body)).toBe(34);
    expect(batchLength([10, 10, 10, 10], 500, 34)).toBe(3);
    expect(batchLength([10, 10, 10, 10], 500, 33)).toBe(2);
  });

  it('stops at the first event that does not fit, keeping order', () => {
    expect(batchLength([10, 10, 500, 10], 500, 100)).toBe(2);
  });

  it('sends an event larger than maxBytes alone rather than never', () => {
    expect(batchLength([5000, 10, 10], 500, 1000)).toBe(1);
  });

  it('is 0 for an empty queue', () => {
    expect(batchLength([], 500, 1000)).toBe(0);
  });

  it('reads no further than it needs (the queue may hold thousands)', () => {
    let read = 0;
    function* sizes() {
      for (;;) {
        read += 1;
        yield 10;
      }
    }
    expect(batchLength(sizes(), 5, 1_000_000)).toBe(5);
    expect(read).toBe(5);
  });
});

describe(batchBody.name, () => {
  it('is the JSON array of the serialised events', () => {
    const events = [
      { event: 'a', uid: '1' },
      { event: 'b', uid: '2' },
    ];
    expect(JSON.parse(batchBody(events.map((event) => JSON.stringify(event))))).toEqual(events);
    expect(batchBody([])).toBe('[]');
  });
});

describe(halves.name, () => {
  it('splits in two, the first half taking the odd one, order kept', () => {
    expect(halves([1, 2, 3, 4, 5])).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    expect(halves([1, 2])).toEqual([[1], [2]]);
  });
});
