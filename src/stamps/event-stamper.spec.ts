import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Refusal } from '../http/refusal';
import { parseSpoolConfig } from '../spool/spool.config';
import { EventStamper } from './event-stamper';
import { PointClock } from './point-clock';
import type { RetentionBound } from './retention';
import type { RetentionPolicy } from '../influx/retention-policy';
import { parseStampsConfig } from './stamps.config';

const MS_NS = 1_000_000n;
const TAGS = [['event', 'signup']] as const;

describe(EventStamper.name, () => {
  let dir: string;
  let retention: { current: RetentionPolicy | undefined };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'stamps-'));
    retention = { current: undefined };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function stamper(): EventStamper {
    const made = new EventStamper(
      new PointClock(),
      retention as RetentionBound,
      parseStampsConfig({}),
      parseSpoolConfig({ SPOOL_DIR: dir }),
    );
    made.onModuleInit();
    return made;
  }

  /** A whole millisecond a minute ago, in nanoseconds. */
  const minuteAgo = () => BigInt(Date.now() - 60_000) * MS_NS;

  it('gives an id with a millisecond time the slot 500000 + cyrb53(id) % 500000', () => {
    const at = minuteAgo();
    // cyrb53("a") = 7929297801672961 (the published value): 672961 ns into its millisecond.
    expect(stamper().stamp('a', at, 'analytics', TAGS)).toEqual({
      time: at + 672_961n,
      duplicate: false,
    });
  });

  it('gives the same slot at another replica (another process, another directory)', () => {
    const at = minuteAgo();
    const first = stamper().stamp('order-17', at, 'analytics', TAGS);
    rmSync(dir, { recursive: true, force: true });
    dir = mkdtempSync(join(tmpdir(), 'stamps-'));
    const other = stamper().stamp('order-17', at, 'analytics', TAGS);
    expect(other).toEqual({ time: first.time, duplicate: false });
  });

  it('gives 100 ids in one millisecond 100 distinct times in its upper half', () => {
    const at = minuteAgo();
    const stamps = stamper();
    const times = Array.from(
      { length: 100 },
      (_, i) => stamps.stamp(`id-${i}`, at, 'analytics', TAGS).time,
    );
    expect(new Set(times).size).toBe(100);
    for (const time of times) {
      expect(time - at).toBeGreaterThanOrEqual(500_000n);
      expect(time - at).toBeLessThan(1_000_000n);
    }
  });

  it('moves an id whose slot this process gave another id of the series to the next slot', () => {
    const at = minuteAgo();
    const stamps = stamper();
    // Find two ids sharing a slot by brute force (about 900 tries, the birthday bound), each
    // in a series of its own at a scout, which never probes.
    const scout = stamper();
    const seen = new Map<bigint, string>();
    for (let i = 0; ; i++) {
      const id = `x${i}`;
      const { time } = scout.stamp(id, at, `probe-${i}`, TAGS);
      const other = seen.get(time);
      if (other !== undefined) {
        const first = stamps.stamp(other, at, 'analytics', TAGS).time;
        const second = stamps.stamp(id, at, 'analytics', TAGS).time;
        expect(second).toBe(first === at + 999_999n ? at + 500_000n : first + 1n);
        return;
      }
      seen.set(time, id);
    }
  });

  it('answers a resend of an id with the first time, as a duplicate, with or without time', () => {
    const stamps = stamper();
    const first = stamps.stamp('r-1', undefined, 'analytics', TAGS);
    expect(first.time % MS_NS).toBeLessThan(500_000n);
    expect(stamps.stamp('r-1', undefined, 'analytics', TAGS)).toEqual({
      time: first.time,
      duplicate: true,
    });
  });

  it('remembers the ids it committed across a restart on the same directory', async () => {
    const stamps = stamper();
    const first = stamps.stamp('r-2', undefined, 'analytics', TAGS);
    stamps.commit();
    // Written at the end of the turn; no close: as after kill -9, only what was written is there.
    await new Promise((resolve) => setImmediate(resolve));
    expect(stamper().stamp('r-2', undefined, 'analytics', TAGS)).toEqual({
      time: first.time,
      duplicate: true,
    });
    expect(readdirSync(dir).filter((name) => name.startsWith('stamps-'))).toHaveLength(1);
  });

  it('reads past a line a crash cut short, keeping the lines before it', () => {
    const stamps = stamper();
    const first = stamps.stamp('r-3', undefined, 'analytics', TAGS);
    stamps.flush();
    const [log] = readdirSync(dir).filter((name) => name.startsWith('stamps-'));
    appendFileSync(join(dir, log!), '1234 56');
    const again = stamper();
    expect(again.stamp('r-3', undefined, 'analytics', TAGS)).toEqual({
      time: first.time,
      duplicate: true,
    });
  });

  it('stores a time finer than a millisecond as given', () => {
    const at = minuteAgo() + 123_456n;
    expect(stamper().stamp('fine', at, 'analytics', TAGS).time).toBe(at);
  });

  it('gives times without an id distinct slots of the upper half', () => {
    const at = minuteAgo();
    const stamps = stamper();
    const times = Array.from(
      { length: 100 },
      () => stamps.stamp(undefined, at, 'analytics', TAGS).time,
    );
    expect(new Set(times).size).toBe(100);
    expect(times.every((time) => time - at >= 500_000n)).toBe(true);
  });

  function refusal(run: () => unknown): { key: string; message: string } {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(Refusal);
      return (error as Refusal).getResponse() as { key: string; message: string };
    }
    throw new Error('not refused');
  }

  it('refuses a time more than MAX_EVENT_FUTURE_SECONDS ahead, naming time and the bound', () => {
    const ahead = BigInt(Date.now() + 301_000) * MS_NS;
    expect(refusal(() => stamper().stamp('f', ahead, 'analytics', TAGS))).toMatchObject({
      key: 'time',
      message: "time: is more than 300 s ahead of the service's clock (MAX_EVENT_FUTURE_SECONDS)",
    });
  });

  it('refuses a time older than the retention policy keeps, naming it and its duration', () => {
    retention.current = { name: 'week', durationMs: 168 * 3_600_000 };
    const old = BigInt(Date.now() - 169 * 3_600_000) * MS_NS;
    expect(refusal(() => stamper().stamp('o', old, 'analytics', TAGS))).toMatchObject({
      key: 'time',
      message: 'time: is older than retention policy "week" keeps (168 h)',
    });
  });

  it('accepts any past time when the retention policy keeps points forever', () => {
    retention.current = { name: 'autogen', durationMs: 0 };
    const at = 86_400_000n * MS_NS;
    expect(stamper().stamp(undefined, at, 'analytics', TAGS).time / MS_NS).toBe(86_400_000n);
  });
});
