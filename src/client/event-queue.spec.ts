import { EventQueue } from './event-queue';

describe(EventQueue.name, () => {
  it('is first in, first out, across the ring buffer wrapping around', () => {
    const queue = new EventQueue<number>(3, 'oldest');
    queue.push(1);
    queue.push(2);
    expect(queue.shift(1)).toEqual([1]);
    queue.push(3);
    queue.push(4);
    expect(queue.length).toBe(3);
    expect([...queue]).toEqual([2, 3, 4]);
    expect(queue.shift(2)).toEqual([2, 3]);
    queue.push(5);
    expect(queue.shift()).toEqual([4, 5]);
    expect(queue.length).toBe(0);
  });

  it("'oldest': a full queue takes the new item and gives back the oldest", () => {
    const queue = new EventQueue<number>(3, 'oldest');
    expect([1, 2, 3].map((n) => queue.push(n))).toEqual([undefined, undefined, undefined]);
    expect(queue.push(4)).toBe(1);
    expect(queue.push(5)).toBe(2);
    expect([...queue]).toEqual([3, 4, 5]);
  });

  it("'newest': a full queue keeps what it has and gives back the new item", () => {
    const queue = new EventQueue<number>(3, 'newest');
    [1, 2, 3].forEach((n) => queue.push(n));
    expect(queue.push(4)).toBe(4);
    expect(queue.push(5)).toBe(5);
    expect([...queue]).toEqual([1, 2, 3]);
  });

  it('shift(n) takes no more than it holds', () => {
    const queue = new EventQueue<number>(5, 'oldest');
    queue.push(1);
    expect(queue.shift(10)).toEqual([1]);
    expect(queue.shift(10)).toEqual([]);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new EventQueue(0, 'oldest')).toThrow(RangeError);
    expect(() => new EventQueue(1.5, 'oldest')).toThrow(RangeError);
  });
});
