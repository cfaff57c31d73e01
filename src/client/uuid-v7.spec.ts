import { UuidV7, uuidV7, uuidV7Text } from './uuid-v7';

/** The 128 bits of a UUID's text form. */
function bitsOf(uuid: string): bigint {
  expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  return BigInt(`0x${uuid.replace(/-/g, '')}`);
}

/** The fields of RFC 9562 §5.7, read from the bits by the layout the RFC draws. */
function fieldsOf(uuid: string) {
  const bits = bitsOf(uuid);
  return {
    unixTsMs: Number(bits >> 80n),
    ver: Number((bits >> 76n) & 0xfn),
    randA: Number((bits >> 64n) & 0xfffn),
    var: Number((bits >> 62n) & 0x3n),
    randB: bits & ((1n << 62n) - 1n),
  };
}

describe(uuidV7Text.name, () => {
  it('lays out the example of RFC 9562 appendix A.6', () => {
    // unix_ts_ms 0x017F22E279B0, rand_a 0xCC3, rand_b 0x18C4DC0C0C07398F.
    const randB = Uint8Array.from([0x18, 0xc4, 0xdc, 0x0c, 0x0c, 0x07, 0x39, 0x8f]);
    expect(uuidV7Text(0x017f22e279b0, 0xcc3, randB)).toBe('017f22e2-79b0-7cc3-98c4-dc0c0c07398f');
  });
});

describe(UuidV7.name, () => {
  it('makes version 7, variant 10 ids carrying the current Unix time in milliseconds', () => {
    const before = Date.now();
    const id = uuidV7();
    const after = Date.now();
    const fields = fieldsOf(id);
    expect(fields.ver).toBe(7);
    expect(fields.var).toBe(0b10);
    expect(fields.unixTsMs).toBeGreaterThanOrEqual(before);
    expect(fields.unixTsMs).toBeLessThanOrEqual(after);
  });

  it('ids sort as text in the order they were made, also many in one millisecond', () => {
    const made = Array.from({ length: 10_000 }, () => uuidV7());
    expect(new Set(made).size).toBe(made.length);
    expect([...made].sort()).toEqual(made);
  });

  it('keeps increasing when the clock steps back, and over 4096 ids in one millisecond', () => {
    const clock = [1_000_000, 999_000];
    let calls = 0;
    const ids = new UuidV7(
      () => clock[Math.min(calls++ >> 12, 1)]!,
      (bytes) => bytes.fill(0xff),
    );
    const made = Array.from({ length: 3 * 4096 }, () => ids.next());
    expect([...made].sort()).toEqual(made);
    expect(new Set(made).size).toBe(made.length);
    expect(fieldsOf(made[0]!).unixTsMs).toBe(1_000_000);
    // Never below the highest time used, even after the clock went back 1 s.
    expect(fieldsOf(made.at(-1)!).unixTsMs).toBeGreaterThanOrEqual(1_000_000);
  });

  it('draws rand_b at random for every id', () => {
    const randB = new Set(Array.from({ length: 100 }, () => fieldsOf(uuidV7()).randB));
    expect(randB.size).toBe(100);
  });

  it('passes the service rule for event ids', () => {
    expect(uuidV7()).toMatch(/^[A-Za-z0-9_.:-]{1,128}$/);
  });
});
